//! Typed configuration from the environment (and `.env`). Secrets are wrapped so that `Debug`
//! and logs never show them; a missing or malformed value is one line naming the variable.

use std::net::SocketAddr;
use std::time::Duration;

use reqwest::Url;
use secrecy::SecretString;

use crate::http::HttpLimits;
use crate::wsc::{ClientSettings, RetryPolicy};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{var} {problem}")]
pub struct ConfigError {
    pub var: &'static str,
    pub problem: String,
}

impl ConfigError {
    fn new(var: &'static str, problem: impl Into<String>) -> Self {
        Self { var, problem: problem.into() }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub discord_token: Option<SecretString>,
    pub discord_application_id: Option<u64>,
    /// 32 bytes, from 64 hex digits.
    pub discord_public_key: Option<[u8; 32]>,
    pub discord_guild_id: Option<u64>,
    pub discord_api_base: Url,
    pub ncp_access_key: Option<SecretString>,
    pub ncp_secret_key: Option<SecretString>,
    pub wsc_api_base: Url,
    /// Empty: every member of the guild may view.
    pub viewer_role_ids: Vec<u64>,
    /// Empty: nobody may cancel or stop.
    pub operator_role_ids: Vec<u64>,
    pub audit_channel_id: Option<u64>,
    pub watch_channel_id: Option<u64>,
    pub watch_interval: Duration,
    pub http_listen: Option<SocketAddr>,
    /// Health and metrics here instead of on `http_listen`.
    pub metrics_listen: Option<SocketAddr>,
    pub http_limits: HttpLimits,
    pub request_timeout: Duration,
    pub log_format: LogFormat,
}

/// Every variable the program reads, for `.env.example` and the README to match.
pub const VARIABLES: &[&str] = &[
    "DISCORD_TOKEN",
    "DISCORD_APPLICATION_ID",
    "DISCORD_PUBLIC_KEY",
    "DISCORD_GUILD_ID",
    "DISCORD_API_BASE",
    "NCP_ACCESS_KEY",
    "NCP_SECRET_KEY",
    "WSC_API_BASE",
    "WSC_VIEWER_ROLE_IDS",
    "WSC_OPERATOR_ROLE_IDS",
    "WSC_AUDIT_CHANNEL_ID",
    "WSC_WATCH_CHANNEL_ID",
    "WSC_WATCH_INTERVAL_SECS",
    "WSC_HTTP_LISTEN",
    "WSC_METRICS_LISTEN",
    "WSC_REQUEST_TIMEOUT_SECS",
    "RUST_LOG",
    "LOG_FORMAT",
];

pub const DEFAULT_WSC_API_BASE: &str = "https://wsc.apigw.ntruss.com";
pub const DEFAULT_DISCORD_API_BASE: &str = "https://discord.com";

impl Config {
    /// Reads the process environment (after `.env`, which never overrides it).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads through `lookup`; an empty value counts as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let secret = |name: &str| get(name).map(SecretString::from);
        Ok(Self {
            discord_token: secret("DISCORD_TOKEN"),
            discord_application_id: get("DISCORD_APPLICATION_ID")
                .map(|v| snowflake("DISCORD_APPLICATION_ID", &v))
                .transpose()?,
            discord_public_key: get("DISCORD_PUBLIC_KEY").map(|v| public_key(&v)).transpose()?,
            discord_guild_id: get("DISCORD_GUILD_ID")
                .map(|v| snowflake("DISCORD_GUILD_ID", &v))
                .transpose()?,
            discord_api_base: base_url(
                "DISCORD_API_BASE",
                get("DISCORD_API_BASE").as_deref().unwrap_or(DEFAULT_DISCORD_API_BASE),
            )?,
            ncp_access_key: secret("NCP_ACCESS_KEY"),
            ncp_secret_key: secret("NCP_SECRET_KEY"),
            wsc_api_base: base_url(
                "WSC_API_BASE",
                get("WSC_API_BASE").as_deref().unwrap_or(DEFAULT_WSC_API_BASE),
            )?,
            viewer_role_ids: role_ids("WSC_VIEWER_ROLE_IDS", get("WSC_VIEWER_ROLE_IDS").as_deref())?,
            operator_role_ids: role_ids("WSC_OPERATOR_ROLE_IDS", get("WSC_OPERATOR_ROLE_IDS").as_deref())?,
            audit_channel_id: get("WSC_AUDIT_CHANNEL_ID")
                .map(|v| snowflake("WSC_AUDIT_CHANNEL_ID", &v))
                .transpose()?,
            watch_channel_id: get("WSC_WATCH_CHANNEL_ID")
                .map(|v| snowflake("WSC_WATCH_CHANNEL_ID", &v))
                .transpose()?,
            watch_interval: seconds(
                "WSC_WATCH_INTERVAL_SECS",
                get("WSC_WATCH_INTERVAL_SECS"),
                60,
                10..=86_400,
            )?,
            http_listen: get("WSC_HTTP_LISTEN").map(|v| address("WSC_HTTP_LISTEN", &v)).transpose()?,
            metrics_listen: get("WSC_METRICS_LISTEN")
                .map(|v| address("WSC_METRICS_LISTEN", &v))
                .transpose()?,
            http_limits: http_limits(&get)?,
            request_timeout: seconds(
                "WSC_REQUEST_TIMEOUT_SECS",
                get("WSC_REQUEST_TIMEOUT_SECS"),
                10,
                1..=300,
            )?,
            log_format: match get("LOG_FORMAT").as_deref() {
                None | Some("text") => LogFormat::Text,
                Some("json") => LogFormat::Json,
                Some(other) => {
                    return Err(ConfigError::new(
                        "LOG_FORMAT",
                        format!("must be text or json (got {other:?})"),
                    ))
                }
            },
        })
    }

    /// The WSC client's settings; both NCP keys are required.
    pub fn wsc_client_settings(&self) -> Result<ClientSettings, ConfigError> {
        let missing =
            |var| ConfigError::new(var, "is not set: put the NCP API key pair in the environment or .env");
        Ok(ClientSettings {
            base_url: self.wsc_api_base.clone(),
            access_key: self.ncp_access_key.clone().ok_or_else(|| missing("NCP_ACCESS_KEY"))?,
            secret_key: self.ncp_secret_key.clone().ok_or_else(|| missing("NCP_SECRET_KEY"))?,
            timeout: self.request_timeout,
            retry: RetryPolicy::default(),
        })
    }
}

fn address(var: &'static str, value: &str) -> Result<SocketAddr, ConfigError> {
    value.parse().map_err(|_| {
        ConfigError::new(var, format!("must be an address and port such as 0.0.0.0:8080 (got {value:?})"))
    })
}

/// The defaults, which tests shorten through undocumented variables so that they need not wait
/// 30 s for a slow client to be cut off.
fn http_limits(get: &impl Fn(&str) -> Option<String>) -> Result<HttpLimits, ConfigError> {
    let mut limits = HttpLimits::default();
    let number = |var: &'static str| {
        get(var)
            .map(|v| {
                v.parse::<u64>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| ConfigError::new(var, format!("must be a positive number (got {v:?})")))
            })
            .transpose()
    };
    if let Some(ms) = number("WSC_TEST_HTTP_TIMEOUT_MS")? {
        limits.request_timeout = Duration::from_millis(ms);
    }
    if let Some(count) = number("WSC_TEST_HTTP_MAX_CONNECTIONS")? {
        limits.max_connections = usize::try_from(count).unwrap_or(usize::MAX);
    }
    Ok(limits)
}

fn snowflake(var: &'static str, value: &str) -> Result<u64, ConfigError> {
    value.parse::<u64>().ok().filter(|id| *id > 0 && value.bytes().all(|b| b.is_ascii_digit())).ok_or_else(
        || {
            ConfigError::new(
                var,
                format!("must be a Discord id, a positive number such as 123456789012345678 (got {value:?})"),
            )
        },
    )
}

fn role_ids(var: &'static str, value: Option<&str>) -> Result<Vec<u64>, ConfigError> {
    let mut ids = Vec::new();
    for part in value.unwrap_or("").split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let id = snowflake(var, part).map_err(|_| {
            ConfigError::new(var, format!("must be role ids separated by commas; {part:?} is not a role id (copy ids with Developer Mode, not names)"))
        })?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

fn base_url(var: &'static str, value: &str) -> Result<Url, ConfigError> {
    let url =
        Url::parse(value).map_err(|e| ConfigError::new(var, format!("is not a URL ({e}): {value:?}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(ConfigError::new(
            var,
            format!("must be an http:// or https:// URL with a host (got {value:?})"),
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ConfigError::new(var, format!("must not have a query or fragment (got {value:?})")));
    }
    Ok(url)
}

fn public_key(value: &str) -> Result<[u8; 32], ConfigError> {
    let bad = || {
        ConfigError::new(
            "DISCORD_PUBLIC_KEY",
            "must be the application's public key: 64 hex digits from the Developer Portal",
        )
    };
    if value.len() != 64 {
        return Err(bad());
    }
    let mut key = [0u8; 32];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(value.get(2 * i..2 * i + 2).ok_or_else(bad)?, 16).map_err(|_| bad())?;
    }
    Ok(key)
}

fn seconds(
    var: &'static str,
    value: Option<String>,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<Duration, ConfigError> {
    let Some(value) = value else {
        return Ok(Duration::from_secs(default));
    };
    value.parse::<u64>().ok().filter(|secs| range.contains(secs)).map(Duration::from_secs).ok_or_else(|| {
        ConfigError::new(
            var,
            format!(
                "must be a whole number of seconds from {} to {} (got {value:?})",
                range.start(),
                range.end()
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_when_nothing_is_set() {
        let config = load(&[]).unwrap();
        assert_eq!(config.wsc_api_base.as_str(), "https://wsc.apigw.ntruss.com/");
        assert_eq!(config.request_timeout, Duration::from_secs(10));
        assert_eq!(config.watch_interval, Duration::from_secs(60));
        assert!(config.operator_role_ids.is_empty() && config.viewer_role_ids.is_empty());
        assert_eq!(config.log_format, LogFormat::Text);
        assert_eq!(config.http_limits.request_timeout, Duration::from_secs(30));
        assert_eq!((config.http_listen, config.metrics_listen), (None, None));
        assert_eq!(config.wsc_client_settings().unwrap_err().var, "NCP_ACCESS_KEY");
    }

    #[test]
    fn role_ids_are_parsed_and_deduplicated() {
        let config =
            load(&[("WSC_OPERATOR_ROLE_IDS", " 111, 222,,111 "), ("WSC_VIEWER_ROLE_IDS", "")]).unwrap();
        assert_eq!(config.operator_role_ids, [111, 222]);
        assert!(config.viewer_role_ids.is_empty());
    }

    #[test]
    fn each_malformed_value_names_its_variable() {
        let cases = [
            ("WSC_OPERATOR_ROLE_IDS", "On-call"),
            ("WSC_VIEWER_ROLE_IDS", "1,-2"),
            ("DISCORD_GUILD_ID", "0"),
            ("DISCORD_APPLICATION_ID", "12ab"),
            ("DISCORD_PUBLIC_KEY", "abcd"),
            ("DISCORD_PUBLIC_KEY", &"zz".repeat(32)),
            ("WSC_API_BASE", "ftp://example.com"),
            ("WSC_API_BASE", "not a url"),
            ("DISCORD_API_BASE", "http://localhost:1/?x=1"),
            ("WSC_REQUEST_TIMEOUT_SECS", "0"),
            ("WSC_REQUEST_TIMEOUT_SECS", "ten"),
            ("WSC_WATCH_INTERVAL_SECS", "1"),
            ("WSC_HTTP_LISTEN", "8080"),
            ("WSC_METRICS_LISTEN", "localhost"),
            ("WSC_TEST_HTTP_TIMEOUT_MS", "0"),
            ("WSC_AUDIT_CHANNEL_ID", "#audit"),
            ("LOG_FORMAT", "xml"),
        ];
        for (var, value) in cases {
            let error = load(&[(var, value)]).unwrap_err();
            assert_eq!(error.var, var, "{value}");
            assert!(!error.to_string().contains('\n'), "one line: {error}");
        }
    }

    #[test]
    fn secrets_never_show_in_debug() {
        let config = load(&[
            ("DISCORD_TOKEN", "discord-token-value-123"),
            ("NCP_ACCESS_KEY", "ncp-access-key-value-456"),
            ("NCP_SECRET_KEY", "ncp-secret-key-value-789"),
            ("DISCORD_PUBLIC_KEY", &"ab".repeat(32)),
        ])
        .unwrap();
        let shown = format!("{config:?} {:?}", config.wsc_client_settings().unwrap());
        for secret in ["discord-token-value-123", "ncp-access-key-value-456", "ncp-secret-key-value-789"] {
            assert!(!shown.contains(secret), "{secret} leaked: {shown}");
        }
        assert_eq!(config.discord_public_key, Some([0xab; 32]));
    }
}
