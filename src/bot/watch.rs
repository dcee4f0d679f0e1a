//! Scan-state notifications: poll WSC, and keep one message per job in the watch channel,
//! edited in place as the job moves on. The first poll is a baseline: old jobs are not announced.
//! A transition Discord did not take is tried again at the next poll.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use serenity::all::CreateActionRow;

use super::i18n::{t, Lang, Msg};
use super::ports::{Discord, Store, WatchedJob};
use super::text::safe_code;
use super::view::{self, Reply};
use crate::metrics::Metrics;
use crate::wsc::{ErrorKind, Job, JobState, SearchField, SearchQuery, WscClient};

/// The newest jobs watched, in pages of 100.
const PAGES: u32 = 3;
/// The longest wait between polls while WSC fails or limits us.
const MAX_BACKOFF: Duration = Duration::from_secs(600);
/// WSC's status codes for jobs ended by hand (searchJobs' `statusCode`), in the order a job
/// passes through them, so one moving on between two searches is still found.
const CANCELLED: u16 = 91;
const STOPPING: u16 = 92;
const STOPPED: u16 = 93;

/// Where a job is in its life, as far as notifications go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Waiting,
    /// Waiting, and told it starts soon: kept until it moves on, so nobody is told twice.
    Warned,
    Running,
    Finished,
    Failed,
    Cancelled,
    Stopped,
    Other,
}

impl Stage {
    /// The stage `result_button` tells; `None` when WSC offers no action, which cancelled and
    /// stopped jobs share (their status code tells them apart: `of_status_code`).
    pub fn of(state: &JobState) -> Option<Self> {
        Some(match state {
            JobState::NotStarted => Self::Waiting,
            JobState::Running => Self::Running,
            JobState::Finished | JobState::Expired => Self::Finished,
            JobState::Failed => Self::Failed,
            JobState::NoAction => return None,
            JobState::Unknown(_) => Self::Other,
        })
    }

    /// A job without action, by the status code searchJobs found it under (`None`: under none).
    pub fn of_status_code(code: Option<u16>) -> Self {
        match code {
            Some(CANCELLED) => Self::Cancelled,
            Some(STOPPING | STOPPED) => Self::Stopped,
            _ => Self::Other,
        }
    }

    /// Its name in the store.
    pub fn name(self) -> &'static str {
        match self {
            Self::Waiting => "waiting",
            Self::Warned => "warned",
            Self::Running => "running",
            Self::Finished => "finished",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::Stopped => "stopped",
            Self::Other => "other",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [
            Self::Waiting,
            Self::Warned,
            Self::Running,
            Self::Finished,
            Self::Failed,
            Self::Cancelled,
            Self::Stopped,
            Self::Other,
        ]
        .into_iter()
        .find(|stage| stage.name() == name)
    }

    fn announced(self) -> bool {
        matches!(
            self,
            Self::Warned | Self::Running | Self::Finished | Self::Failed | Self::Cancelled | Self::Stopped
        )
    }
}

#[derive(Debug, Clone, Copy)]
pub struct WatchSettings {
    pub channel_id: u64,
    pub interval: Duration,
    /// How long before a scheduled scan starts the channel is told; zero: never.
    pub warn_before: Duration,
    /// Every embed says WSC is simulated.
    pub demo: bool,
}

pub struct Watcher {
    wsc: WscClient,
    settings: WatchSettings,
    /// The wait before the next poll: the interval, doubled after each failure.
    delay: Duration,
    /// What the store knows of the jobs, read at the first poll; `None` until then.
    jobs: Option<HashMap<u64, WatchedJob>>,
    baseline_taken: bool,
    lang: Option<Lang>,
    store: Arc<dyn Store>,
    metrics: Arc<Metrics>,
    /// This watcher, among replicas, for the lease that lets one of them poll.
    holder: String,
}

impl Watcher {
    pub fn new(
        wsc: WscClient,
        settings: WatchSettings,
        store: Arc<dyn Store>,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            wsc,
            settings,
            delay: settings.interval,
            jobs: None,
            baseline_taken: false,
            lang: None,
            store,
            metrics,
            holder: format!("{}-{:08x}", std::process::id(), fastrand::u32(..)),
        }
    }

    /// Whether this replica polls now: it holds the channel's lease, renewed at every poll and
    /// lasting two intervals, so another replica takes over within two intervals of its death.
    async fn leading(&mut self) -> bool {
        let name = format!("watch:{}", self.settings.channel_id);
        match self.store.lease(&name, &self.holder, self.settings.interval * 2).await {
            Ok(true) => true,
            Ok(false) => {
                // The leader moves the jobs on: read them again when this replica leads.
                self.jobs = None;
                false
            }
            Err(error) => {
                // Without the store, two replicas could both announce: neither polls.
                self.metrics.store_error("lease");
                tracing::warn!(%error, "could not renew the watcher's lease; polling again later");
                self.jobs = None;
                false
            }
        }
    }

    /// Records what this poll saw of `changed` jobs; an announcement is recorded at once, so a
    /// replica that takes over does not tell it again.
    async fn remember(&self, changed: &[(u64, WatchedJob)]) {
        if let Err(error) = self.store.save_watched(self.settings.channel_id, changed).await {
            self.metrics.store_error("save_watched");
            tracing::warn!(%error, "could not save the watcher's memory; this process remembers it");
        }
    }

    pub async fn run<D: Discord>(mut self, discord: D) {
        loop {
            let wait = self.poll_once(&discord).await;
            tokio::time::sleep(wait).await;
        }
    }

    /// One poll, when this replica leads; returns how long to wait before the next one.
    pub async fn poll_once<D: Discord>(&mut self, discord: &D) -> Duration {
        if !self.leading().await {
            return self.settings.interval;
        }
        let jobs = match self.fetch().await {
            Ok(jobs) => {
                self.metrics.watch_poll("ok");
                jobs
            }
            Err(kind) => {
                self.metrics.watch_poll(kind.name());
                self.delay = (self.delay * 2).min(MAX_BACKOFF).max(self.settings.interval);
                tracing::warn!(
                    kind = kind.name(),
                    next_poll_secs = self.delay.as_secs(),
                    "watch poll failed; backing off"
                );
                return self.delay;
            }
        };
        self.delay = self.settings.interval;
        if self.jobs.is_none() {
            match self.store.watched(self.settings.channel_id).await {
                Ok(known) => {
                    self.baseline_taken = known.is_some();
                    self.jobs = Some(known.unwrap_or_default());
                }
                Err(error) => {
                    // Without what was announced before, anything could be announced twice.
                    self.metrics.store_error("watched");
                    tracing::warn!(%error, "could not read the watcher's memory; polling again later");
                    return self.delay;
                }
            }
        }
        let lang = self.lang(discord).await;
        let codes = self.status_codes(&jobs).await;
        let mut changed = Vec::new();
        for job in &jobs {
            let previous = self.known(job.instance_no);
            let stage = match Stage::of(&job.state) {
                Some(stage) => stage,
                None if self.may_have_ended(previous) => match &codes {
                    Ok(codes) => Stage::of_status_code(codes.get(&job.instance_no).copied()),
                    // Unknown for now: keep what was seen, and ask again at the next poll.
                    Err(_) => continue,
                },
                None => previous.map_or(Stage::Other, |seen| seen.stage),
            };
            let stage = match (stage, previous.map(|p| p.stage)) {
                (Stage::Waiting, Some(Stage::Warned)) => Stage::Warned,
                (Stage::Waiting, _) if self.starts_within_warning(job) => Stage::Warned,
                (stage, _) => stage,
            };
            let mut seen = previous.unwrap_or(WatchedJob { stage, message_id: None });
            let moved = previous.is_none_or(|p| p.stage != stage);
            // A warning is about what is to come: told at the baseline too.
            let announce = (self.baseline_taken || stage == Stage::Warned) && moved && stage.announced();
            if announce {
                match self.announce(discord, lang, job, stage, seen.message_id).await {
                    Some(id) => {
                        seen.message_id = Some(id);
                        self.tell_starter(discord, lang, job, stage).await;
                    }
                    // Discord did not take it: keep the old stage, so the next poll tries again.
                    None => continue,
                }
            }
            seen.stage = stage;
            if previous != Some(seen) {
                self.jobs.get_or_insert_with(HashMap::new).insert(job.instance_no, seen);
                if announce {
                    self.remember(&[(job.instance_no, seen)]).await;
                } else {
                    changed.push((job.instance_no, seen));
                }
            }
        }
        self.remember(&changed).await;
        self.baseline_taken = true;
        self.delay
    }

    fn known(&self, instance: u64) -> Option<WatchedJob> {
        self.jobs.as_ref().and_then(|jobs| jobs.get(&instance)).copied()
    }

    /// A job now without action may have just been cancelled or stopped: when it was waiting or
    /// running, or is new since the baseline.
    fn may_have_ended(&self, previous: Option<WatchedJob>) -> bool {
        match previous {
            Some(seen) => matches!(seen.stage, Stage::Waiting | Stage::Warned | Stage::Running),
            None => self.baseline_taken,
        }
    }

    /// Whether `job`, not started, is due within the warning time (and not already past due).
    fn starts_within_warning(&self, job: &Job) -> bool {
        let warn_ms = i64::try_from(self.settings.warn_before.as_millis()).unwrap_or(i64::MAX);
        if warn_ms == 0 {
            return false;
        }
        let now = super::ports::now_ms();
        starts_at_ms(job).is_some_and(|at| (now..=now.saturating_add(warn_ms)).contains(&at))
    }

    /// For the jobs that may have just ended by hand, WSC's status code (91 cancelled, 92
    /// stopping, 93 stopped), from searchJobs by code; no call when there are none.
    async fn status_codes(&self, jobs: &[Job]) -> Result<HashMap<u64, u16>, ErrorKind> {
        let mut wanted: HashSet<u64> = jobs
            .iter()
            .filter(|job| job.state == JobState::NoAction)
            .filter(|job| self.may_have_ended(self.known(job.instance_no)))
            .map(|job| job.instance_no)
            .collect();
        let mut codes = HashMap::new();
        for code in [CANCELLED, STOPPING, STOPPED] {
            for page in 1..=PAGES {
                if wanted.is_empty() {
                    return Ok(codes);
                }
                let query = SearchQuery {
                    field: SearchField::Any,
                    keyword: String::new(),
                    status_code: Some(code),
                    page,
                    limit: 100,
                };
                let found = self.wsc.search_jobs(&query).await.map_err(|error| {
                    tracing::warn!(
                        kind = error.kind.name(),
                        code,
                        "could not read which jobs were cancelled or stopped; asking again at the next poll"
                    );
                    error.kind
                })?;
                for job in &found.jobs {
                    if wanted.remove(&job.instance_no) {
                        codes.insert(job.instance_no, code);
                    }
                }
                if u64::from(page) >= found.total_pages {
                    break;
                }
            }
        }
        Ok(codes)
    }

    async fn fetch(&self) -> Result<Vec<Job>, ErrorKind> {
        let mut jobs = Vec::new();
        for page in 1..=PAGES {
            let listed = self.wsc.list_jobs(page, 100).await.map_err(|e| e.kind)?;
            let last = listed.total_pages;
            jobs.extend(listed.jobs);
            if u64::from(page) >= last {
                break;
            }
        }
        Ok(jobs)
    }

    /// The guild's language, asked once; English until Discord answers.
    async fn lang<D: Discord>(&mut self, discord: &D) -> Lang {
        if let Some(lang) = self.lang {
            return lang;
        }
        match discord.channel_locale(self.settings.channel_id).await {
            Ok(locale) => *self.lang.insert(Lang::from_locale(&locale)),
            Err(error) => {
                tracing::warn!(%error, "could not read the watch channel's guild locale; using English");
                Lang::En
            }
        }
    }

    /// Edits the job's message, or posts one; returns its id, or `None` when Discord took neither.
    async fn announce<D: Discord>(
        &self,
        discord: &D,
        lang: Lang,
        job: &Job,
        stage: Stage,
        message_id: Option<u64>,
    ) -> Option<u64> {
        let reply = self.render(lang, job, stage).await;
        if let Some(id) = message_id {
            match discord.edit_message(self.settings.channel_id, id, reply.clone().edit_message()).await {
                Ok(()) => return Some(id),
                Err(error) => {
                    tracing::warn!(message_id = id, %error, "could not edit a watch message; posting anew")
                }
            }
        }
        match discord.send_message(self.settings.channel_id, reply.message()).await {
            Ok(id) => Some(id),
            Err(error) => {
                tracing::warn!(%error, "could not post to the watch channel; trying again at the next poll");
                None
            }
        }
    }

    /// A scan started from chat that finished or failed: its starter hears it directly, once.
    /// Closed DMs (or a store that is down) cost only that message.
    async fn tell_starter<D: Discord>(&self, discord: &D, lang: Lang, job: &Job, stage: Stage) {
        if !matches!(stage, Stage::Finished | Stage::Failed) {
            return;
        }
        let starter = match self.store.take_pending(&job.instance_no.to_string(), super::SCAN_STARTER).await {
            Ok(starter) => starter.and_then(|s| s.parse::<u64>().ok()),
            Err(error) => {
                self.metrics.store_error("take_pending");
                tracing::warn!(%error, "could not read who started a scan; no direct message");
                None
            }
        };
        let Some(user) = starter else { return };
        let mut reply = self.render(lang, job, stage).await;
        reply.components.clear();
        if let Err(error) = discord.send_dm(user, reply.message()).await {
            tracing::info!(instance = job.instance_no, %error, "could not tell the scan's starter directly");
        }
    }

    async fn render(&self, lang: Lang, job: &Job, stage: Stage) -> Reply {
        let (msg, findings) = match stage {
            Stage::Warned => (Some(Msg::WatchStartsSoon), String::new()),
            Stage::Running => (Some(Msg::WatchStarted), String::new()),
            Stage::Finished => (Some(Msg::WatchFinished), self.findings(lang, job).await),
            Stage::Failed => (Some(Msg::WatchFailed), String::new()),
            Stage::Cancelled => (Some(Msg::WatchCancelled), String::new()),
            Stage::Stopped => (Some(Msg::WatchStopped), String::new()),
            Stage::Waiting | Stage::Other => (None, String::new()),
        };
        let (url, id) = (safe_code(&job.start_url, 300), job.instance_no.to_string());
        let minutes = minutes_left(job).to_string();
        let content = msg
            .map(|msg| {
                t(lang, msg, &[("url", &url), ("id", &id), ("findings", &findings), ("minutes", &minutes)])
            })
            .unwrap_or_default();
        // The jobs view's Cancel button before it starts, Stop while it runs: their clicks go
        // through the same role check.
        let components = match stage {
            Stage::Warned | Stage::Running => view::action_button(lang, job)
                .map(|b| CreateActionRow::Buttons(vec![b]))
                .into_iter()
                .collect(),
            _ => Vec::new(),
        };
        Reply { content, embeds: vec![view::job_embed(lang, job, self.settings.demo)], components }
    }

    /// Risk counts from the report when it can be read, else the job's own count.
    async fn findings(&self, lang: Lang, job: &Job) -> String {
        let count = |n: Option<u64>| n.map_or_else(|| "—".to_owned(), |n| n.to_string());
        match self.wsc.report(job.instance_no).await {
            Ok(report) => t(
                lang,
                Msg::WatchRisks,
                &[
                    ("high", &count(report.risk.high)),
                    ("medium", &count(report.risk.medium)),
                    ("low", &count(report.risk.low)),
                    ("total", &count(report.risk.total)),
                ],
            ),
            Err(_) => t(lang, Msg::WatchCount, &[("total", &count(job.scan_count))]),
        }
    }
}

/// When a job starts (or started), from its `start_date` in KST; `None` when WSC gave none.
fn starts_at_ms(job: &Job) -> Option<i64> {
    let text = job.start_date.as_deref()?.trim();
    let local = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").ok()?;
    let kst = chrono::FixedOffset::east_opt(9 * 3600)?;
    Some(local.and_local_timezone(kst).single()?.timestamp_millis())
}

/// Whole minutes until `job` starts, rounded up (a warning never says 0 for a scan still ahead).
fn minutes_left(job: &Job) -> i64 {
    let left = starts_at_ms(job).map_or(0, |at| at.saturating_sub(super::ports::now_ms()));
    (left.max(0) + 59_999) / 60_000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_round_trip_through_their_names() {
        for stage in
            [Stage::Waiting, Stage::Warned, Stage::Running, Stage::Finished, Stage::Failed, Stage::Cancelled]
        {
            assert_eq!(Stage::from_name(stage.name()), Some(stage));
        }
        assert_eq!(Stage::from_name(Stage::Stopped.name()), Some(Stage::Stopped));
        assert_eq!(Stage::from_name(Stage::Other.name()), Some(Stage::Other));
        assert_eq!(Stage::from_name("running "), None);
    }

    #[test]
    fn cancelled_and_stopped_are_told_apart_by_wscs_status_codes() {
        assert_eq!(Stage::of(&JobState::NoAction), None, "result_button alone cannot tell");
        assert_eq!(Stage::of_status_code(Some(91)), Stage::Cancelled);
        assert_eq!(Stage::of_status_code(Some(92)), Stage::Stopped);
        assert_eq!(Stage::of_status_code(Some(93)), Stage::Stopped);
        assert_eq!(Stage::of_status_code(None), Stage::Other);
        assert_eq!(Stage::of(&JobState::Expired), Some(Stage::Finished));
        assert_eq!(Stage::of(&JobState::Unknown("new".into())), Some(Stage::Other));
    }
}
