//! `wsc-bot check`: the configuration and one WSC call, reported in plain words.

use std::fmt;
use std::time::{Duration, SystemTime};

use crate::config::Config;
use crate::wsc::{ClientSettings, ErrorKind, RetryPolicy, WscClient};

/// Clocks this far apart make NCP refuse every request.
const SKEW_LIMIT: Duration = Duration::from_secs(5 * 60);
/// Worth a warning before it becomes a failure.
const SKEW_WARNING: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Ok,
    Info,
    Warn,
    Fail,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub level: Level,
    pub text: String,
}

#[derive(Debug, Clone, Default)]
pub struct CheckReport {
    pub findings: Vec<Finding>,
}

impl CheckReport {
    fn add(&mut self, level: Level, text: impl Into<String>) {
        self.findings.push(Finding { level, text: text.into() });
    }

    /// All is well: nothing failed.
    pub fn passed(&self) -> bool {
        self.findings.iter().all(|f| f.level != Level::Fail)
    }
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for finding in &self.findings {
            let mark = match finding.level {
                Level::Ok => "ok  ",
                Level::Info => "info",
                Level::Warn => "warn",
                Level::Fail => "FAIL",
            };
            writeln!(f, "{mark}  {}", finding.text)?;
        }
        let failures = self.findings.iter().filter(|f| f.level == Level::Fail).count();
        match failures {
            0 => writeln!(f, "All is well."),
            1 => writeln!(f, "1 problem to fix."),
            n => writeln!(f, "{n} problems to fix."),
        }
    }
}

/// Runs every check. A missing or malformed variable stopped the program before this.
pub async fn run(config: &Config, mut settings: ClientSettings) -> CheckReport {
    let mut report = CheckReport::default();
    check_guilds(config, &mut report);
    check_roles(config, &mut report);
    check_discord(config, &mut report);
    check_store(config, &mut report).await;

    settings.retry = RetryPolicy::none();
    let base = settings.base_url.to_string();
    let client = match WscClient::new(settings, crate::metrics::Metrics::new()) {
        Ok(client) => client,
        Err(error) => {
            report.add(Level::Fail, error);
            return report;
        }
    };

    let sent_at = SystemTime::now();
    let result = client.list_jobs_with_info(1, 1).await;
    let local = sent_at + sent_at.elapsed().unwrap_or_default() / 2;
    let server_time = match &result {
        Ok((_, info)) => info.server_time,
        Err(error) => error.server_time,
    };
    let skewed = check_clock(server_time, local, &mut report);
    match result {
        Ok((page, info)) => {
            let visible = match page.total {
                1 => "1 job is visible".to_owned(),
                n => format!("{n} jobs are visible"),
            };
            let request = info.request_id.map(|id| format!(" (request {id})")).unwrap_or_default();
            report.add(Level::Ok, format!("WSC at {base}: the keys were accepted and {visible}{request}."));
        }
        Err(error) => {
            let text = match error.kind {
                ErrorKind::Credentials if skewed => {
                    "WSC refused the request: NCP refused the credentials, most likely because of the clock difference above.".to_owned()
                }
                ErrorKind::Credentials => {
                    "WSC refused the request: the credentials were refused; check that NCP_ACCESS_KEY and NCP_SECRET_KEY are one pair and current.".to_owned()
                }
                ErrorKind::Permission => {
                    "WSC refused the request: the permission policy NCP_WEB_SECURITY_CHECKER_MANAGER seems missing from the key's sub-account.".to_owned()
                }
                ErrorKind::Unreachable => format!("the WSC host {base} is unreachable: check WSC_API_BASE and the network ({}).", error.detail),
                kind => kind.sentence().to_owned(),
            };
            let code = error.code.map(|c| format!(" [NCP code {c}]")).unwrap_or_default();
            let request = error.request_id.map(|id| format!(" (request {id})")).unwrap_or_default();
            report.add(Level::Fail, format!("{text}{code}{request}"));
        }
    }
    report
}

/// Opens the store as the bot would (creating a SQLite file, bringing the schema up to date) and
/// says what it found.
async fn check_store(config: &Config, report: &mut CheckReport) {
    let store = match crate::store::open(&config.store_url(false)).await {
        Ok(store) => store,
        Err(error) => return report.add(Level::Fail, format!("store: {error}.")),
    };
    match crate::bot::Store::status(&store).await {
        Ok(status) => {
            let leases = match (status.engine, status.live_leases.len()) {
                ("postgres", 0) => " No replica holds a lease right now.".to_owned(),
                ("postgres", _) => {
                    let held: Vec<String> = status
                        .live_leases
                        .iter()
                        .map(|(name, holder)| format!("{name} by {holder}"))
                        .collect();
                    format!(" Leases held: {}.", held.join(", "))
                }
                _ => String::new(),
            };
            report.add(
                Level::Ok,
                format!(
                    "store: {} reachable, schema version {}.{leases}",
                    status.engine, status.schema_version
                ),
            );
        }
        Err(error) => report.add(Level::Fail, format!("store: {error}.")),
    }
}

/// Compares WSC's `Date` with this machine's clock; true when NCP would refuse the difference.
fn check_clock(server_time: Option<SystemTime>, local: SystemTime, report: &mut CheckReport) -> bool {
    let Some(server) = server_time else {
        report.add(Level::Info, "clock: WSC sent no Date header, so the clocks could not be compared.");
        return false;
    };
    let (offset, direction) = match server.duration_since(local) {
        Ok(ahead) => (ahead, "behind"),
        Err(behind) => (behind.duration(), "ahead of"),
    };
    let phrase = format!("this machine's clock is {} {direction} WSC's", human(offset));
    if offset >= SKEW_LIMIT {
        report.add(
            Level::Fail,
            format!(
                "clock: {phrase}; NCP refuses requests 5 minutes or more off: synchronise the clock (NTP)."
            ),
        );
        true
    } else if offset >= SKEW_WARNING {
        report.add(
            Level::Warn,
            format!("clock: {phrase}; NCP refuses 5 minutes or more: synchronise the clock (NTP)."),
        );
        false
    } else {
        report.add(Level::Ok, "clock: within a few seconds of WSC's.");
        false
    }
}

fn ids(ids: &[u64]) -> String {
    ids.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
}

fn check_guilds(config: &Config, report: &mut CheckReport) {
    match config.served_guilds() {
        Ok([guild]) => report.add(
            Level::Ok,
            format!("guilds: serves guild {guild} only; other servers, DMs and user installs are refused."),
        ),
        Ok(guilds) => report.add(
            Level::Ok,
            format!(
                "guilds: serves guilds {} only; other servers, DMs and user installs are refused.",
                ids(guilds)
            ),
        ),
        Err(error) => report.add(Level::Fail, format!("guilds: {error}.")),
    }
}

fn check_roles(config: &Config, report: &mut CheckReport) {
    let roles = ids;
    if config.viewer_role_ids.is_empty() {
        report.add(
            Level::Warn,
            "viewers: WSC_VIEWER_ROLE_IDS is empty, so every member of the served guilds may list jobs and read their target URLs, memos and reports: set it to the team's role ids.",
        );
    } else {
        report.add(Level::Ok, format!("viewers: roles {}.", roles(&config.viewer_role_ids)));
    }
    if config.operator_role_ids.is_empty() {
        report.add(Level::Fail, "operators: WSC_OPERATOR_ROLE_IDS is empty, so nobody can cancel or stop a scan: set it to the on-call role ids.");
    } else {
        report.add(
            Level::Ok,
            format!("operators: roles {} may cancel and stop scans.", roles(&config.operator_role_ids)),
        );
    }
}

fn check_discord(config: &Config, report: &mut CheckReport) {
    if config.discord_token.is_none() {
        report.add(Level::Info, "discord: DISCORD_TOKEN is not set; `run` and `register` need it.");
    }
}

fn human(duration: Duration) -> String {
    let secs = duration.as_secs();
    match (secs / 3600, secs / 60 % 60, secs % 60) {
        (0, 0, s) => format!("{s} s"),
        (0, m, s) => format!("{m} min {s} s"),
        (h, m, _) => format!("{h} h {m} min"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_skew_levels() {
        let now = SystemTime::now();
        let mut report = CheckReport::default();
        assert!(!check_clock(Some(now + Duration::from_secs(2)), now, &mut report));
        assert!(!check_clock(Some(now + Duration::from_secs(60)), now, &mut report));
        assert!(check_clock(Some(now - Duration::from_secs(432)), now, &mut report));
        let levels: Vec<Level> = report.findings.iter().map(|f| f.level).collect();
        assert_eq!(levels, [Level::Ok, Level::Warn, Level::Fail]);
        assert!(report.findings[2].text.contains("7 min 12 s ahead of WSC's"), "{}", report.findings[2].text);
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human(Duration::from_secs(5)), "5 s");
        assert_eq!(human(Duration::from_secs(301)), "5 min 1 s");
        assert_eq!(human(Duration::from_secs(7322)), "2 h 2 min");
    }
}
