//! Log set-up shared by every binary: human-readable lines on a terminal (or with
//! `CDC_LOG_FORMAT=text`), JSON lines otherwise (`CDC_LOG_FORMAT=json` forces them); the level
//! comes from `RUST_LOG`, else from the binary's default filter.

use std::io::IsTerminal;

/// Install the global tracing subscriber writing to stderr.
pub fn init(default_filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    let text = match std::env::var("CDC_LOG_FORMAT").as_deref() {
        Ok("json") => false,
        Ok("text") => true,
        _ => std::io::stderr().is_terminal(),
    };
    let b = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if text {
        b.init();
    } else {
        b.json().init();
    }
}
