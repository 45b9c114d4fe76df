//! `cdc-connector` command line. Subcommands are variants of [`Command`]; add the run mode there.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use cdc_connector::inspect::{inspect_file, ReadOptions};
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "cdc-connector",
    version,
    about = "Debezium-compatible MySQL/MariaDB change-data-capture"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Decode binlog files from disk and print one JSON line per row change.
    Inspect {
        /// Binlog files, read in the order given.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Upper bound (bytes) on the expanded size of one compressed transaction.
        #[arg(long, default_value_t = ReadOptions::default().max_payload_bytes)]
        max_payload_bytes: u64,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Inspect {
            files,
            max_payload_bytes,
        } => inspect(&files, &ReadOptions { max_payload_bytes }),
    }
}

fn inspect(files: &[PathBuf], opts: &ReadOptions) -> ExitCode {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for f in files {
        let res = inspect_file(f, opts, |row| writeln!(out, "{}", row.to_json()));
        if let Err(e) = res {
            let _ = out.flush();
            eprintln!("cdc-connector inspect: {e}");
            return ExitCode::FAILURE;
        }
    }
    if let Err(e) = out.flush() {
        eprintln!("cdc-connector inspect: writing output: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
