//! Log set-up shared by every binary: human-readable lines on a terminal (or with
//! `CDC_LOG_FORMAT=text`), JSON lines otherwise (`CDC_LOG_FORMAT=json` forces them); the level
//! comes from `RUST_LOG`, else from the binary's default filter. Colours only on a terminal, and
//! not when `NO_COLOR` is set.

use std::io::IsTerminal;

/// Install the global tracing subscriber writing to stderr.
pub fn init(default_filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    let terminal = std::io::stderr().is_terminal();
    let text = match std::env::var("CDC_LOG_FORMAT").as_deref() {
        Ok("json") => false,
        Ok("text") => true,
        _ => terminal,
    };
    let colour = terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let b = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(colour).with_writer(std::io::stderr);
    if text {
        b.init();
    } else {
        b.json().init();
    }
}
