//! Tracing setup: `RUST_LOG` filter, text or JSON lines on stderr.

use tracing_subscriber::EnvFilter;

use crate::config::{ConfigError, LogFormat};

pub fn init(format: LogFormat) -> Result<(), ConfigError> {
    try_init(format)?
        .map_err(|e| ConfigError { var: "RUST_LOG", problem: format!("could not start logging ({e})") })
}

/// Like `init`, but a subscriber already set is reported in the inner result.
pub fn try_init(format: LogFormat) -> Result<Result<(), String>, ConfigError> {
    let filter = filter(std::env::var("RUST_LOG").ok().as_deref())?;
    // Installing it also bridges the `log` crate's records (reqwest, tungstenite…) into tracing.
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let installed = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    Ok(installed.map_err(|e| e.to_string()))
}

/// The filter for a `RUST_LOG` value (`info` when unset or empty), with the caps that keep
/// secrets out whatever it asks.
pub fn filter(rust_log: Option<&str>) -> Result<EnvFilter, ConfigError> {
    let filter = match rust_log {
        Some(spec) if !spec.trim().is_empty() => EnvFilter::try_new(spec).map_err(|e| ConfigError {
            var: "RUST_LOG",
            problem: format!("is not a valid filter such as info or wsc_bot=debug ({e})"),
        })?,
        _ => EnvFilter::new("info"),
    };
    // Their TRACE lines carry whole websocket frames, IDENTIFY's bot token included: never
    // below DEBUG, whatever RUST_LOG asks.
    Ok(["tungstenite=debug", "tokio_tungstenite=debug"].into_iter().fold(filter, |filter, directive| {
        filter.add_directive(directive.parse().expect("a valid directive"))
    }))
}
