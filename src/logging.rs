//! Tracing setup: `RUST_LOG` filter, text or JSON lines on stderr.

use tracing::Subscriber;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::{ConfigError, LogFormat};

pub fn init(format: LogFormat) -> Result<(), ConfigError> {
    try_init(format)?
        .map_err(|e| ConfigError { var: "RUST_LOG", problem: format!("could not start logging ({e})") })
}

/// Like `init`, but a subscriber already set is reported in the inner result.
pub fn try_init(format: LogFormat) -> Result<Result<(), String>, ConfigError> {
    // Installing it also bridges the `log` crate's records (reqwest, tungstenite…) into tracing.
    let installed = tracing_subscriber::registry().with(layer(format)?).try_init();
    Ok(installed.map_err(|e| e.to_string()))
}

/// The log output `init` installs, as a layer that others (tests) can stack with theirs.
pub fn layer<S>(format: LogFormat) -> Result<Box<dyn Layer<S> + Send + Sync>, ConfigError>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let filter = filter(std::env::var("RUST_LOG").ok().as_deref())?;
    let text = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    Ok(match format {
        LogFormat::Text => text.with_filter(filter).boxed(),
        LogFormat::Json => text.json().flatten_event(true).with_filter(filter).boxed(),
    })
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
