//! Typed configuration from the environment (and `.env`). Secrets are wrapped so that `Debug`
//! and logs never show them; a missing or malformed value is one line naming the variable.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::Url;
use secrecy::{ExposeSecret, SecretString};

use crate::http::HttpLimits;
use crate::wsc::{ClientSettings, KeyPair, KeySource, RetryPolicy};

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
    /// The guilds the bot serves; empty until set, which `run`, `serve` and `register` refuse.
    pub discord_guild_ids: Vec<u64>,
    pub discord_api_base: Url,
    pub ncp_access_key: Option<SecretString>,
    pub ncp_secret_key: Option<SecretString>,
    /// The files the NCP keys were read from, if they were: read again when the key rotates.
    pub ncp_access_key_file: Option<PathBuf>,
    pub ncp_secret_key_file: Option<PathBuf>,
    pub wsc_api_base: Url,
    /// Empty: every member of the guild may view.
    pub viewer_role_ids: Vec<u64>,
    /// Empty: nobody may cancel or stop.
    pub operator_role_ids: Vec<u64>,
    pub audit_channel_id: Option<u64>,
    pub watch_channel_id: Option<u64>,
    pub watch_interval: Duration,
    /// How long before a scheduled scan starts the watch channel is told; zero: never.
    pub warn_before: Duration,
    pub http_listen: Option<SocketAddr>,
    /// Health and metrics here instead of on `http_listen`.
    pub metrics_listen: Option<SocketAddr>,
    pub http_limits: HttpLimits,
    pub request_timeout: Duration,
    pub log_format: LogFormat,
    /// `WSC_DATABASE_URL`; `None` for the default (a SQLite file, or memory with `--demo`). It
    /// may hold a password, so it is kept like one.
    pub database_url: Option<SecretString>,
    pub audit_retention: Duration,
    /// `WSC_SCAN_TARGETS`: the hosts `/wsc scan` and Rescan may target; empty turns them off.
    pub scan_targets: crate::bot::targets::ScanTargets,
}

const DAY: u64 = 86_400;

/// The store when `WSC_DATABASE_URL` is not set: a SQLite file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://wsc-bot.db";

/// Every variable the program reads, for `.env.example` and the README to match.
pub const VARIABLES: &[&str] = &[
    "DISCORD_TOKEN",
    "DISCORD_TOKEN_FILE",
    "DISCORD_APPLICATION_ID",
    "DISCORD_PUBLIC_KEY",
    "DISCORD_GUILD_ID",
    "DISCORD_API_BASE",
    "NCP_ACCESS_KEY",
    "NCP_ACCESS_KEY_FILE",
    "NCP_SECRET_KEY",
    "NCP_SECRET_KEY_FILE",
    "WSC_API_BASE",
    "WSC_VIEWER_ROLE_IDS",
    "WSC_OPERATOR_ROLE_IDS",
    "WSC_AUDIT_CHANNEL_ID",
    "WSC_WATCH_CHANNEL_ID",
    "WSC_WATCH_INTERVAL_SECS",
    "WSC_WARN_BEFORE_MINS",
    "WSC_HTTP_LISTEN",
    "WSC_METRICS_LISTEN",
    "WSC_REQUEST_TIMEOUT_SECS",
    "WSC_DATABASE_URL",
    "WSC_AUDIT_RETENTION_DAYS",
    "WSC_SCAN_TARGETS",
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
        // A secret in the variable itself, or in the file its `_FILE` variable names (Docker
        // and Kubernetes secrets); never both.
        let secret = |var: &'static str, file_var: &'static str| match (get(var), get(file_var)) {
            (Some(_), Some(_)) => Err(ConfigError::new(
                file_var,
                format!("and {var} are both set: give the secret one way only"),
            )),
            (Some(value), None) => Ok((Some(SecretString::from(value)), None)),
            (None, Some(path)) => {
                let path = PathBuf::from(path);
                Ok((Some(read_secret_file(file_var, &path)?), Some(path)))
            }
            (None, None) => Ok((None, None)),
        };
        let (discord_token, _) = secret("DISCORD_TOKEN", "DISCORD_TOKEN_FILE")?;
        let (ncp_access_key, ncp_access_key_file) = secret("NCP_ACCESS_KEY", "NCP_ACCESS_KEY_FILE")?;
        let (ncp_secret_key, ncp_secret_key_file) = secret("NCP_SECRET_KEY", "NCP_SECRET_KEY_FILE")?;
        Ok(Self {
            discord_token,
            discord_application_id: get("DISCORD_APPLICATION_ID")
                .map(|v| snowflake("DISCORD_APPLICATION_ID", &v))
                .transpose()?,
            discord_public_key: get("DISCORD_PUBLIC_KEY").map(|v| public_key(&v)).transpose()?,
            discord_guild_ids: id_list("DISCORD_GUILD_ID", get("DISCORD_GUILD_ID").as_deref(), "guild")?,
            discord_api_base: base_url(
                "DISCORD_API_BASE",
                get("DISCORD_API_BASE").as_deref().unwrap_or(DEFAULT_DISCORD_API_BASE),
            )?,
            ncp_access_key,
            ncp_secret_key,
            ncp_access_key_file,
            ncp_secret_key_file,
            wsc_api_base: base_url(
                "WSC_API_BASE",
                get("WSC_API_BASE").as_deref().unwrap_or(DEFAULT_WSC_API_BASE),
            )?,
            viewer_role_ids: id_list("WSC_VIEWER_ROLE_IDS", get("WSC_VIEWER_ROLE_IDS").as_deref(), "role")?,
            operator_role_ids: id_list(
                "WSC_OPERATOR_ROLE_IDS",
                get("WSC_OPERATOR_ROLE_IDS").as_deref(),
                "role",
            )?,
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
            warn_before: match get("WSC_WARN_BEFORE_MINS") {
                None => Duration::from_secs(10 * 60),
                Some(mins) => mins.parse::<u64>().ok().filter(|m| *m <= 1_440).map_or_else(
                    || {
                        Err(ConfigError::new(
                            "WSC_WARN_BEFORE_MINS",
                            format!("must be a whole number of minutes from 0 (off) to 1440 (got {mins:?})"),
                        ))
                    },
                    |m| Ok(Duration::from_secs(m * 60)),
                )?,
            },
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
            database_url: get("WSC_DATABASE_URL").map(|url| database_url(&url)).transpose()?,
            scan_targets: crate::bot::targets::ScanTargets::parse(
                get("WSC_SCAN_TARGETS").as_deref().unwrap_or_default(),
            )
            .map_err(|problem| ConfigError::new("WSC_SCAN_TARGETS", problem))?,
            audit_retention: match get("WSC_AUDIT_RETENTION_DAYS") {
                None => Duration::from_secs(365 * DAY),
                Some(days) => days.parse::<u64>().ok().filter(|d| (1..=3_650).contains(d)).map_or_else(
                    || {
                        Err(ConfigError::new(
                            "WSC_AUDIT_RETENTION_DAYS",
                            format!("must be a whole number of days from 1 to 3650 (got {days:?})"),
                        ))
                    },
                    |d| Ok(Duration::from_secs(d * DAY)),
                )?,
            },
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

    /// The store's URL: `WSC_DATABASE_URL`, else memory for the demo, else a SQLite file.
    pub fn store_url(&self, demo: bool) -> String {
        match &self.database_url {
            Some(url) => url.expose_secret().to_owned(),
            None if demo => "sqlite::memory:".to_owned(),
            None => DEFAULT_DATABASE_URL.to_owned(),
        }
    }

    /// The guilds to serve, for `run`, `serve` and `register`: without them any server that adds
    /// the bot could use it.
    pub fn served_guilds(&self) -> Result<&[u64], ConfigError> {
        if self.discord_guild_ids.is_empty() {
            return Err(ConfigError::new(
                "DISCORD_GUILD_ID",
                "is not set: the bot serves only its own team, so give its server id (several, comma-separated); interactions from any other server are refused",
            ));
        }
        Ok(&self.discord_guild_ids)
    }

    /// The WSC client's settings; both NCP keys are required.
    pub fn wsc_client_settings(&self) -> Result<ClientSettings, ConfigError> {
        let missing = |var| {
            ConfigError::new(
                var,
                format!("is not set: put the NCP API key pair in the environment or .env, or in files named by {var}_FILE"),
            )
        };
        let access_key = self.ncp_access_key.clone().ok_or_else(|| missing("NCP_ACCESS_KEY"))?;
        let secret_key = self.ncp_secret_key.clone().ok_or_else(|| missing("NCP_SECRET_KEY"))?;
        Ok(ClientSettings {
            base_url: self.wsc_api_base.clone(),
            key_source: self.ncp_key_source(&access_key, &secret_key),
            access_key,
            secret_key,
            timeout: self.request_timeout,
            retry: RetryPolicy::default(),
        })
    }

    /// Reads the key files again; a key given in the environment stays as it is.
    fn ncp_key_source(&self, access_key: &SecretString, secret_key: &SecretString) -> Option<KeySource> {
        if self.ncp_access_key_file.is_none() && self.ncp_secret_key_file.is_none() {
            return None;
        }
        let access = (self.ncp_access_key_file.clone(), access_key.clone());
        let secret = (self.ncp_secret_key_file.clone(), secret_key.clone());
        Some(KeySource::new(move || {
            let read = |var, (file, fixed): &(Option<PathBuf>, SecretString)| match file {
                Some(path) => read_secret_file(var, path).map_err(|e| e.to_string()),
                None => Ok(fixed.clone()),
            };
            Ok(KeyPair {
                access_key: read("NCP_ACCESS_KEY_FILE", &access)?,
                secret_key: read("NCP_SECRET_KEY_FILE", &secret)?,
            })
        }))
    }
}

/// A secret's file, trimmed (a trailing newline is the norm); unreadable or empty is an error
/// that names the file, never its content.
fn read_secret_file(var: &'static str, path: &Path) -> Result<SecretString, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::new(var, format!("names a file that cannot be read ({path:?}: {e})")))?;
    let value = text.trim();
    if value.is_empty() {
        return Err(ConfigError::new(var, format!("names an empty file ({path:?})")));
    }
    Ok(SecretString::from(value.to_owned()))
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

/// Comma-separated ids of `what` (role, guild), duplicates dropped.
fn id_list(var: &'static str, value: Option<&str>, what: &str) -> Result<Vec<u64>, ConfigError> {
    let mut ids = Vec::new();
    for part in value.unwrap_or("").split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let id = snowflake(var, part).map_err(|_| {
            ConfigError::new(var, format!("must be {what} ids separated by commas; {part:?} is not a {what} id (copy ids with Developer Mode, not names)"))
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

/// A store URL the bot can open; the text is never quoted back (it may hold a password).
fn database_url(url: &str) -> Result<SecretString, ConfigError> {
    let known = ["sqlite:", "postgres://", "postgresql://"];
    if known.iter().any(|scheme| url.starts_with(scheme)) {
        Ok(SecretString::from(url.to_owned()))
    } else {
        Err(ConfigError::new(
            "WSC_DATABASE_URL",
            "must be sqlite://PATH (one process) or postgres://USER:PASSWORD@HOST/DATABASE (replicas)",
        ))
    }
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
        assert_eq!(config.warn_before, Duration::from_secs(600));
        assert_eq!(load(&[("WSC_WARN_BEFORE_MINS", "0")]).unwrap().warn_before, Duration::ZERO, "off");
        assert!(config.operator_role_ids.is_empty() && config.viewer_role_ids.is_empty());
        assert_eq!(config.log_format, LogFormat::Text);
        assert_eq!(config.http_limits.request_timeout, Duration::from_secs(30));
        assert_eq!((config.http_listen, config.metrics_listen), (None, None));
        assert_eq!(config.wsc_client_settings().unwrap_err().var, "NCP_ACCESS_KEY");
    }

    #[test]
    fn scan_targets_are_off_by_default_and_a_bad_entry_names_the_variable() {
        assert!(load(&[]).unwrap().scan_targets.is_empty());
        let config = load(&[("WSC_SCAN_TARGETS", "shop.example.com, *.example.org")]).unwrap();
        assert!(config.scan_targets.check("https://a.example.org/").is_ok());
        let error = load(&[("WSC_SCAN_TARGETS", "https://shop.example.com")]).unwrap_err();
        assert_eq!(error.var, "WSC_SCAN_TARGETS");
        assert!(error.to_string().starts_with("WSC_SCAN_TARGETS has `https://shop.example.com`"), "{error}");
    }

    #[test]
    fn role_ids_are_parsed_and_deduplicated() {
        let config =
            load(&[("WSC_OPERATOR_ROLE_IDS", " 111, 222,,111 "), ("WSC_VIEWER_ROLE_IDS", "")]).unwrap();
        assert_eq!(config.operator_role_ids, [111, 222]);
        assert!(config.viewer_role_ids.is_empty());
    }

    #[test]
    fn guild_ids_are_a_list_and_required_to_serve() {
        let config = load(&[("DISCORD_GUILD_ID", "111, 222,111")]).unwrap();
        assert_eq!(config.served_guilds().unwrap(), [111, 222]);
        let error = load(&[]).unwrap().served_guilds().unwrap_err();
        assert_eq!(error.var, "DISCORD_GUILD_ID");
        assert!(!error.to_string().contains('\n'), "one line: {error}");
        assert_eq!(load(&[("DISCORD_GUILD_ID", "111,Security")]).unwrap_err().var, "DISCORD_GUILD_ID");
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
            ("WSC_WARN_BEFORE_MINS", "-1"),
            ("WSC_WARN_BEFORE_MINS", "10m"),
            ("WSC_WARN_BEFORE_MINS", "1441"),
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

    /// A file in the temp dir holding `content`, named for this test process.
    fn secret_file(name: &str, content: &str) -> String {
        let path = std::env::temp_dir().join(format!("wsc-bot-config-{}-{name}", std::process::id()));
        std::fs::write(&path, content).unwrap();
        path.to_str().unwrap().to_owned()
    }

    #[test]
    fn secrets_can_come_from_files_with_the_trailing_newline_trimmed() {
        use secrecy::ExposeSecret;
        let token = secret_file("token", "discord-token-from-file\n");
        let access = secret_file("access", "access-key-from-file\r\n");
        let secret = secret_file("secret", "secret-key-from-file\n\n");
        let config = load(&[
            ("DISCORD_TOKEN_FILE", &token),
            ("NCP_ACCESS_KEY_FILE", &access),
            ("NCP_SECRET_KEY_FILE", &secret),
        ])
        .unwrap();
        assert_eq!(config.discord_token.as_ref().unwrap().expose_secret(), "discord-token-from-file");
        let settings = config.wsc_client_settings().unwrap();
        assert_eq!(settings.access_key.expose_secret(), "access-key-from-file");
        assert_eq!(settings.secret_key.expose_secret(), "secret-key-from-file");
        assert!(settings.key_source.is_some(), "files are read again when the key rotates");
        let shown = format!("{config:?} {settings:?}");
        assert!(!shown.contains("from-file"), "{shown}");

        // One key from a file and one from the environment work too; only the file is re-read.
        let mixed = load(&[("NCP_ACCESS_KEY", "access-in-env"), ("NCP_SECRET_KEY_FILE", &secret)]).unwrap();
        assert!(mixed.wsc_client_settings().unwrap().key_source.is_some());
        let from_env = load(&[("NCP_ACCESS_KEY", "a"), ("NCP_SECRET_KEY", "b")]).unwrap();
        assert!(from_env.wsc_client_settings().unwrap().key_source.is_none(), "nothing to re-read");
        for file in [token, access, secret] {
            std::fs::remove_file(file).unwrap();
        }
    }

    #[test]
    fn a_secret_and_its_file_together_are_refused_naming_both() {
        let file = secret_file("both", "value\n");
        for var in ["DISCORD_TOKEN", "NCP_ACCESS_KEY", "NCP_SECRET_KEY"] {
            let file_var = format!("{var}_FILE");
            let error = load(&[(var, "value"), (&file_var, &file)]).unwrap_err();
            assert_eq!(error.var, file_var);
            let text = error.to_string();
            assert!(text.contains(&format!("{file_var} and {var} are both set")), "{text}");
            assert!(!text.contains('\n'), "one line: {text}");
        }
        std::fs::remove_file(file).unwrap();
    }

    #[test]
    fn an_unreadable_or_empty_secret_file_is_one_line_naming_it() {
        let empty = secret_file("empty", " \n");
        let missing = std::env::temp_dir().join("wsc-bot-config-no-such-file").to_str().unwrap().to_owned();
        let directory = std::env::temp_dir().to_str().unwrap().to_owned();
        for (path, says) in
            [(&empty, "names an empty file"), (&missing, "cannot be read"), (&directory, "cannot be read")]
        {
            let error = load(&[("NCP_SECRET_KEY_FILE", path)]).unwrap_err();
            assert_eq!(error.var, "NCP_SECRET_KEY_FILE");
            let text = error.to_string();
            assert!(text.contains(says) && text.contains(path.as_str()), "{text}");
            assert!(!text.contains('\n'), "one line: {text}");
        }
        std::fs::remove_file(empty).unwrap();
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
