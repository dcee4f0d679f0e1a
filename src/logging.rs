//! Tracing setup: `RUST_LOG` filter, text or JSON lines on stderr.

use tracing_subscriber::EnvFilter;

use crate::config::{ConfigError, LogFormat};

pub fn init(format: LogFormat) -> Result<(), ConfigError> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.trim().is_empty() => EnvFilter::try_new(&spec).map_err(|e| ConfigError {
            var: "RUST_LOG",
            problem: format!("is not a valid filter such as info or wsc_bot=debug ({e})"),
        })?,
        _ => EnvFilter::new("info"),
    };
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
    Ok(())
}
