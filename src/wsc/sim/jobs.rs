//! The simulator's jobs: a state machine that advances with the simulated clock.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// A job's phase; the numeric code is searchJobs' `statusCode` (wsc-api.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// Console-scheduled, not started; has no filter code.
    Scheduled,
    CrawlPending,
    Crawling,
    CrawlDone,
    ScanPending,
    Scanning,
    Finished,
    CrawlFailed,
    ScanFailed,
    Cancelled,
    Stopping,
    Stopped,
    /// Finished, but the report's retention period is over.
    Expired,
}

/// The display language of WSC's `status` labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    En,
    Ko,
}

impl Phase {
    pub fn status_code(self) -> Option<u16> {
        Some(match self {
            Self::Scheduled => return None,
            Self::CrawlPending => 12,
            Self::Crawling => 13,
            Self::CrawlDone => 14,
            Self::CrawlFailed => 15,
            Self::ScanPending => 2,
            Self::Scanning => 3,
            Self::Finished | Self::Expired => 4,
            Self::ScanFailed => 5,
            Self::Cancelled => 91,
            Self::Stopping => 92,
            Self::Stopped => 93,
        })
    }

    pub fn label(self, lang: Lang) -> &'static str {
        let (ko, en) = match self {
            Self::Scheduled => ("예약", "Scheduled"),
            Self::CrawlPending => ("URL 수집 대기", "URL collection pending"),
            Self::Crawling => ("URL 수집중", "URL collection in progress"),
            Self::CrawlDone => ("URL 수집 완료", "URL collection done"),
            Self::CrawlFailed => ("URL 수집 실패", "URL collection failed"),
            Self::ScanPending => ("진단 대기", "Scan pending"),
            Self::Scanning => ("진단 진행 중", "Scan in progress"),
            Self::Finished | Self::Expired => ("진단 완료", "Scan done"),
            Self::ScanFailed => ("진단 실패", "Scan failed"),
            Self::Cancelled => ("진단 취소", "Scan cancelled"),
            Self::Stopping => ("중지 중", "Stopping"),
            Self::Stopped => ("작업 중지", "Stopped"),
        };
        match lang {
            Lang::Ko => ko,
            Lang::En => en,
        }
    }

    /// `result_button` as WSC reports it; `None` is sent as JSON `null` (a quirk worth keeping).
    fn result_button(self) -> Option<&'static str> {
        match self {
            Self::Scheduled | Self::CrawlPending => Some("cancel"),
            Self::Crawling | Self::CrawlDone | Self::ScanPending | Self::Scanning => Some("terminate"),
            Self::Finished => Some("report"),
            Self::CrawlFailed | Self::ScanFailed => Some("cause"),
            Self::Expired => Some("expired"),
            Self::Cancelled | Self::Stopped => Some(""),
            Self::Stopping => None,
        }
    }

    pub fn is_not_started(self) -> bool {
        matches!(self, Self::Scheduled | Self::CrawlPending)
    }

    pub fn is_running(self) -> bool {
        matches!(self, Self::Crawling | Self::CrawlDone | Self::ScanPending | Self::Scanning)
    }
}

/// How a job ends if nobody intervenes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    #[default]
    Success,
    CrawlFails,
    ScanFails,
}

/// One job of a seed file. Times are in simulated seconds, relative to the simulator's start.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedJob {
    pub instance_no: u64,
    pub start_url: String,
    #[serde(default)]
    pub memo: Option<String>,
    pub phase: Phase,
    /// For running phases: how far into the phase the job is, 0–100.
    #[serde(default)]
    pub phase_percent: u8,
    /// For `scheduled`: when it starts.
    #[serde(default = "default_starts_in")]
    pub starts_in_secs: u64,
    #[serde(default = "default_crawl")]
    pub crawl_secs: u64,
    #[serde(default = "default_scan")]
    pub scan_secs: u64,
    #[serde(default)]
    pub outcome: Outcome,
    #[serde(default)]
    pub crawled_urls: u64,
    /// Vulnerabilities found by high, medium, low risk.
    #[serde(default)]
    pub risk: [u64; 3],
    /// A `status` label sent instead of the phase's own, as a changed or hostile WSC might.
    #[serde(default)]
    pub status_label: Option<String>,
}

fn default_starts_in() -> u64 {
    3600
}
fn default_crawl() -> u64 {
    120
}
fn default_scan() -> u64 {
    600
}

/// Short transitional phases (12, 14, 2, 92) last this long, in simulated seconds.
const BRIEF_SECS: i64 = 5;

#[derive(Debug, Clone)]
pub struct SimJob {
    pub seed: SeedJob,
    pub phase: Phase,
    /// Simulated epoch milliseconds when the current phase began.
    pub phase_since: i64,
    pub started_at: Option<i64>,
    pub ended_at: Option<i64>,
}

impl SimJob {
    pub fn new(seed: SeedJob, now: i64) -> Self {
        let running_for = |secs: u64| secs as i64 * 1000 * i64::from(seed.phase_percent.min(100)) / 100;
        let (phase_since, started_at) = match seed.phase {
            Phase::Scheduled => (now + seed.starts_in_secs as i64 * 1000, None),
            Phase::Crawling => (
                now - running_for(seed.crawl_secs),
                Some(now - running_for(seed.crawl_secs) - BRIEF_SECS * 1000),
            ),
            Phase::Scanning => {
                let since = now - running_for(seed.scan_secs);
                (since, Some(since - (seed.crawl_secs as i64 + 3 * BRIEF_SECS) * 1000))
            }
            _ => (now, Some(now - (seed.crawl_secs + seed.scan_secs) as i64 * 1000)),
        };
        let ended_at = matches!(
            seed.phase,
            Phase::Finished
                | Phase::Expired
                | Phase::CrawlFailed
                | Phase::ScanFailed
                | Phase::Cancelled
                | Phase::Stopped
        )
        .then_some(now);
        Self { phase: seed.phase, phase_since, started_at, ended_at, seed }
    }

    /// Moves the job along its timeline up to `now` (simulated epoch ms).
    pub fn advance(&mut self, now: i64) {
        loop {
            let (next, after_secs) = match self.phase {
                // A scheduled job's `phase_since` is its start time.
                Phase::Scheduled => (Phase::CrawlPending, 0),
                Phase::CrawlPending => (Phase::Crawling, BRIEF_SECS),
                Phase::Crawling if self.seed.outcome == Outcome::CrawlFails => {
                    (Phase::CrawlFailed, self.seed.crawl_secs as i64 / 2)
                }
                Phase::Crawling => (Phase::CrawlDone, self.seed.crawl_secs as i64),
                Phase::CrawlDone => (Phase::ScanPending, BRIEF_SECS),
                Phase::ScanPending => (Phase::Scanning, BRIEF_SECS),
                Phase::Scanning if self.seed.outcome == Outcome::ScanFails => {
                    (Phase::ScanFailed, self.seed.scan_secs as i64 / 2)
                }
                Phase::Scanning => (Phase::Finished, self.seed.scan_secs as i64),
                Phase::Stopping => (Phase::Stopped, BRIEF_SECS),
                _ => return,
            };
            let at = self.phase_since + after_secs * 1000;
            if at > now {
                return;
            }
            if self.phase == Phase::Scheduled {
                self.started_at = Some(at);
            }
            self.phase = next;
            self.phase_since = at;
            if matches!(next, Phase::Finished | Phase::CrawlFailed | Phase::ScanFailed | Phase::Stopped) {
                self.ended_at = Some(at);
            }
        }
    }

    /// 0–100 over the whole run: crawling counts for the first 30, scanning for the rest.
    pub fn progress(&self, now: i64) -> Option<u64> {
        let share = |secs: u64| ((now - self.phase_since).max(0) as u64 * 100 / (secs.max(1) * 1000)).min(99);
        Some(match self.phase {
            Phase::Scheduled | Phase::CrawlPending | Phase::Cancelled => return None,
            Phase::Crawling => share(self.seed.crawl_secs) * 30 / 100,
            Phase::CrawlDone | Phase::ScanPending => 30,
            Phase::Scanning => 30 + share(self.seed.scan_secs) * 70 / 100,
            Phase::Finished | Phase::Expired => 100,
            Phase::CrawlFailed | Phase::ScanFailed | Phase::Stopping | Phase::Stopped => return None,
        })
    }

    pub fn cancel(&mut self, now: i64) -> bool {
        let allowed = self.phase.is_not_started();
        if allowed {
            self.phase = Phase::Cancelled;
            self.phase_since = now;
            self.ended_at = Some(now);
        }
        allowed
    }

    pub fn stop(&mut self, now: i64) -> bool {
        let allowed = self.phase.is_running();
        if allowed {
            self.phase = Phase::Stopping;
            self.phase_since = now;
        }
        allowed
    }

    pub fn matches(&self, search_type: &str, keyword: &str, status_code: Option<u16>) -> bool {
        if status_code.is_some() && status_code != self.phase.status_code() {
            return false;
        }
        let keyword = keyword.trim().to_lowercase();
        if keyword.is_empty() {
            return true;
        }
        let url = self.seed.start_url.to_lowercase();
        let memo = self.seed.memo.as_deref().unwrap_or("").to_lowercase();
        match search_type {
            "url" => url.contains(&keyword),
            "memo" => memo.contains(&keyword),
            _ => {
                url.contains(&keyword)
                    || memo.contains(&keyword)
                    || self.seed.instance_no.to_string().contains(&keyword)
            }
        }
    }

    /// The record as WSC sends it, quirks included: numbers as strings, `""` and `null` mixed.
    pub fn record(&self, now: i64, lang: Lang) -> Value {
        let crawled = matches!(self.phase, Phase::Scheduled | Phase::CrawlPending | Phase::Cancelled)
            .then_some(Value::String(String::new()))
            .unwrap_or_else(|| Value::String(self.seed.crawled_urls.to_string()));
        let found: u64 = self.seed.risk.iter().sum();
        let scan_cnt = match self.phase {
            Phase::Scanning | Phase::Stopping | Phase::Stopped | Phase::ScanFailed => {
                json!(found / 2)
            }
            Phase::Finished | Phase::Expired => json!(found.to_string()),
            _ => json!(""),
        };
        let progress = match (self.phase, self.progress(now)) {
            (Phase::Finished | Phase::Expired, Some(p)) => json!(p.to_string()),
            (_, Some(p)) => json!(p),
            (Phase::Scheduled, None) => json!(""),
            (_, None) => Value::Null,
        };
        let result_desc = match self.phase {
            Phase::CrawlFailed => json!("URL collection failed: the start URL did not answer"),
            Phase::ScanFailed => json!("Scan failed: the target closed the connection"),
            _ => json!(""),
        };
        json!({
            "instanceNo": self.seed.instance_no.to_string(),
            "start_date": kst(self.started_at.unwrap_or(self.phase_since)),
            "end_date": self.ended_at.map(kst).map_or(json!(""), Value::String),
            "status": self.seed.status_label.as_deref().unwrap_or(self.phase.label(lang)),
            "progress": progress,
            "start_url": self.seed.start_url,
            "crawl_cnt": crawled,
            "scan_cnt": scan_cnt,
            "memo": self.seed.memo,
            "result_button": self.phase.result_button(),
            "result_desc": result_desc,
            "rescan_button": if self.phase == Phase::Finished { "possible" } else { "" },
            "slave_data": if self.seed.instance_no % 2 == 0 { json!({"note": "opaque"}) } else { Value::Null },
        })
    }

    pub fn report(&self) -> Value {
        let [high, medium, low] = self.seed.risk;
        json!({
            "returnCode": "0",
            "returnMessage": "Success",
            "resources": {
                "report_date": kst_slashed(self.ended_at.unwrap_or(self.phase_since)),
                "Target_Info": self.seed.start_url,
                "Crawl_Time": duration_text(self.seed.crawl_secs),
                "Scan_Time": duration_text(self.seed.scan_secs),
                "Vulnerability_Category": "Cross Site Scripting, SQL Injection, Directory Listing",
                "Scanned_Domain_List": host_of(&self.seed.start_url),
                "Classify_byRisk_Level": {
                    "Total": (high + medium + low).to_string(),
                    "High": high,
                    "Medium": medium.to_string(),
                    "Low": low,
                },
            },
        })
    }
}

/// A job in every state, for a simulator started without a seed file.
pub fn default_seed() -> Vec<SeedJob> {
    let job = |instance_no, url: &str, memo: Option<&str>, phase, phase_percent, outcome, risk| SeedJob {
        instance_no,
        start_url: url.to_owned(),
        memo: memo.map(str::to_owned),
        phase,
        phase_percent,
        starts_in_secs: default_starts_in(),
        crawl_secs: default_crawl(),
        scan_secs: default_scan(),
        outcome,
        crawled_urls: 128,
        risk,
        status_label: None,
    };
    vec![
        job(
            1000000008,
            "https://shop.example.com/",
            Some("weekly scan"),
            Phase::Scheduled,
            0,
            Outcome::Success,
            [1, 2, 3],
        ),
        job(
            1000000007,
            "https://api.example.com/v2/",
            Some("release 2.4"),
            Phase::Crawling,
            50,
            Outcome::Success,
            [0, 1, 4],
        ),
        job(
            1000000006,
            "https://www.example.com/",
            Some("production — stop if slow"),
            Phase::Scanning,
            40,
            Outcome::Success,
            [2, 3, 5],
        ),
        job(1000000005, "https://blog.example.com/", None, Phase::Finished, 0, Outcome::Success, [1, 4, 9]),
        job(
            1000000004,
            "https://legacy.example.com/",
            Some("old host"),
            Phase::CrawlFailed,
            0,
            Outcome::CrawlFails,
            [0, 0, 0],
        ),
        job(
            1000000003,
            "https://staging.example.com/",
            Some("cancelled by ops"),
            Phase::Cancelled,
            0,
            Outcome::Success,
            [0, 0, 0],
        ),
        job(
            1000000002,
            "https://admin.example.com/",
            Some(""),
            Phase::Stopped,
            0,
            Outcome::Success,
            [1, 0, 0],
        ),
        job(
            1000000001,
            "https://old.example.com/",
            Some("2023 audit"),
            Phase::Expired,
            0,
            Outcome::Success,
            [0, 2, 2],
        ),
    ]
}

/// `count` more jobs with varied states, for load and autocomplete tests.
pub fn generated_seed(count: usize, first_instance_no: u64) -> Vec<SeedJob> {
    const PHASES: [Phase; 6] = [
        Phase::Scheduled,
        Phase::Crawling,
        Phase::Scanning,
        Phase::Finished,
        Phase::Stopped,
        Phase::Cancelled,
    ];
    (0..count)
        .map(|i| SeedJob {
            instance_no: first_instance_no + i as u64,
            start_url: format!("https://host{i}.example.net/"),
            memo: Some(format!("generated job {i}")),
            phase: PHASES[i % PHASES.len()],
            phase_percent: (i % 100) as u8,
            starts_in_secs: 3600 + i as u64,
            crawl_secs: 3600,
            scan_secs: 36000,
            outcome: Outcome::Success,
            crawled_urls: i as u64,
            risk: [(i % 3) as u64, (i % 5) as u64, (i % 7) as u64],
            status_label: None,
        })
        .collect()
}

fn kst_time(ms: i64) -> DateTime<FixedOffset> {
    let kst = FixedOffset::east_opt(9 * 3600).expect("+09:00 is a valid offset");
    DateTime::from_timestamp_millis(ms).unwrap_or_default().with_timezone(&kst)
}

fn kst(ms: i64) -> String {
    kst_time(ms).format("%Y-%m-%d %H:%M:%S").to_string()
}

fn kst_slashed(ms: i64) -> String {
    kst_time(ms).format("%Y/%m/%d %H:%M:%S").to_string()
}

fn duration_text(secs: u64) -> String {
    format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

fn host_of(url: &str) -> String {
    url.split("://").nth(1).unwrap_or(url).split('/').next().unwrap_or("").to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed(phase: Phase) -> SeedJob {
        let mut job = default_seed().remove(0);
        job.phase = phase;
        job.starts_in_secs = 10;
        job
    }

    #[test]
    fn a_scheduled_job_runs_its_whole_lifecycle() {
        let mut job = SimJob::new(seed(Phase::Scheduled), 0);
        let mut seen = vec![job.phase];
        for second in 0..2000 {
            job.advance(second * 1000);
            if seen.last() != Some(&job.phase) {
                seen.push(job.phase);
            }
        }
        use Phase::*;
        assert_eq!(seen, [Scheduled, CrawlPending, Crawling, CrawlDone, ScanPending, Scanning, Finished]);
        assert!(job.ended_at.is_some() && job.started_at == Some(10_000));
    }

    #[test]
    fn cancel_only_before_start_and_stop_only_while_running() {
        let mut scheduled = SimJob::new(seed(Phase::Scheduled), 0);
        assert!(!scheduled.stop(0));
        assert!(scheduled.cancel(0));
        assert!(!scheduled.cancel(0));
        let mut running = SimJob::new(seed(Phase::Scanning), 0);
        assert!(!running.cancel(0));
        assert!(running.stop(0));
        assert_eq!(running.phase, Phase::Stopping);
        running.advance(BRIEF_SECS * 1000);
        assert_eq!(running.phase, Phase::Stopped);
        assert!(!running.stop(BRIEF_SECS * 1000));
    }

    #[test]
    fn records_carry_the_documented_quirks() {
        let job = SimJob::new(seed(Phase::Scheduled), 0);
        let record = job.record(0, Lang::Ko);
        assert_eq!(record["instanceNo"], json!("1000000008"));
        assert_eq!(record["status"], json!("예약"));
        assert_eq!(record["result_button"], json!("cancel"));
        assert_eq!(record["end_date"], json!(""));
        assert_eq!(record["crawl_cnt"], json!(""));
    }
}
