//! Scan-state notifications: the watcher polls the simulator and posts to the fake Discord over
//! serenity's real HTTP client, one message per job, edited in place.

mod common;

use std::time::Duration;

use common::bot::{custom_ids, rest_port};
use common::discord_spec::check_request;
use common::fake_discord::{FakeDiscord, RestCall, WATCH_CHANNEL};
use common::{client, settings, start_sim};
use serde_json::Value;
use wsc_bot::bot::watch::WatchSettings;
use wsc_bot::bot::watch::Watcher;
use wsc_bot::discord::rest::Rest;
use wsc_bot::metrics::Metrics;
use wsc_bot::store::MemoryStore;
use wsc_bot::wsc::sim::jobs::Outcome;
use wsc_bot::wsc::sim::{Fault, FaultError, Phase, SeedJob, SimHandle};
use wsc_bot::wsc::Operation;

const INTERVAL: Duration = Duration::from_secs(1);

struct Setup {
    discord: FakeDiscord,
    port: Rest,
    sim: SimHandle,
    watcher: Watcher,
}

async fn setup(guild_locale: &str) -> Setup {
    let sim = start_sim(settings()).await;
    let discord = FakeDiscord::start().await;
    discord.set_guild_locale(guild_locale);
    let port = rest_port(&discord, &sim);
    let watcher = watcher(&sim, INTERVAL);
    Setup { discord, port, sim, watcher }
}

/// A watcher of `WATCH_CHANNEL` with a store of its own.
fn watcher(sim: &SimHandle, interval: Duration) -> Watcher {
    // No warnings before scheduled scans here: `bot_warning.rs` tests them.
    let settings =
        WatchSettings { channel_id: WATCH_CHANNEL, interval, warn_before: Duration::ZERO, demo: false };
    Watcher::new(client(sim), settings, std::sync::Arc::new(MemoryStore::default()), Metrics::new())
}

impl Setup {
    fn posts(&self) -> Vec<RestCall> {
        let path = format!("/api/v10/channels/{WATCH_CHANNEL}/messages");
        self.discord.rest_calls().into_iter().filter(|c| c.method == "POST" && c.path == path).collect()
    }

    fn edits(&self) -> Vec<RestCall> {
        let prefix = format!("/api/v10/channels/{WATCH_CHANNEL}/messages/");
        self.discord
            .rest_calls()
            .into_iter()
            .filter(|c| c.method == "PATCH" && c.path.starts_with(&prefix))
            .collect()
    }

    fn message_about(&self, instance: u64) -> Value {
        self.discord
            .channel_messages(WATCH_CHANNEL)
            .into_iter()
            .find(|m| {
                m["content"].as_str().unwrap_or("").contains(&format!("(job {instance})"))
                    || m["content"].as_str().unwrap_or("").contains(&format!("(작업 {instance})"))
            })
            .unwrap_or_else(|| {
                panic!("no message about job {instance}: {:#?}", self.discord.channel_messages(WATCH_CHANNEL))
            })
    }

    fn assert_payloads_valid(&self) {
        for call in self.discord.rest_calls().iter().filter(|c| !c.body.is_null()) {
            let violations = check_request(&call.method, &call.path, &call.body);
            assert!(violations.is_empty(), "{} {}: {violations:#?}", call.method, call.path);
        }
    }
}

fn content(message: &Value) -> &str {
    message["content"].as_str().unwrap_or_default()
}

fn seed(instance_no: u64, phase: Phase, outcome: Outcome) -> SeedJob {
    SeedJob {
        instance_no,
        start_url: format!("https://job{instance_no}.example/"),
        memo: None,
        phase,
        phase_percent: 0,
        starts_in_secs: 60,
        crawl_secs: 120,
        scan_secs: 600,
        outcome,
        crawled_urls: 10,
        risk: [0, 1, 2],
        status_label: None,
    }
}

#[tokio::test]
async fn every_transition_is_told_once_in_one_message_per_job() {
    let mut s = setup("en-US").await;
    assert_eq!(s.watcher.poll_once(&s.port).await, INTERVAL);
    assert!(s.posts().is_empty(), "the first poll is a baseline: old jobs are not announced");

    // An hour on: the scheduled job has started; the two running at baseline have finished.
    s.sim.advance(Duration::from_secs(3610));
    s.watcher.poll_once(&s.port).await;
    assert_eq!(s.posts().len(), 3);
    let started = s.message_about(1000000008);
    assert!(
        content(&started).starts_with("▶️ Scan started: `https://shop.example.com/`"),
        "{}",
        content(&started)
    );
    assert_eq!(custom_ids(&started), ["wsc:v1:stop:1000000008"], "a Stop button while it runs");
    let finished = s.message_about(1000000006);
    assert!(
        content(&finished).contains("✅ Scan finished")
            && content(&finished).contains("🔴 2 high · 🟠 3 medium · 🟡 5 low (10 in all)"),
        "{}",
        content(&finished)
    );

    s.watcher.poll_once(&s.port).await;
    assert_eq!((s.posts().len(), s.edits().len()), (3, 0), "no transition is told twice");

    // It finishes: the same message is edited, and its button goes.
    s.sim.advance(Duration::from_secs(3600));
    s.watcher.poll_once(&s.port).await;
    assert_eq!((s.posts().len(), s.edits().len()), (3, 1));
    let edited = s.message_about(1000000008);
    assert!(
        content(&edited).starts_with("✅ Scan finished") && content(&edited).contains("🔴 1 high"),
        "{}",
        content(&edited)
    );
    assert!(custom_ids(&edited).is_empty());

    // Stopped, cancelled and failed.
    s.sim.add_job(seed(5001, Phase::Scanning, Outcome::Success));
    s.sim.add_job(seed(5002, Phase::Scheduled, Outcome::Success));
    s.sim.add_job(seed(5003, Phase::Crawling, Outcome::CrawlFails));
    s.watcher.poll_once(&s.port).await;
    assert!(content(&s.message_about(5001)).starts_with("▶️ Scan started"));
    assert!(content(&s.message_about(5003)).starts_with("▶️ Scan started"));
    let wsc = client(&s.sim);
    wsc.stop_job(5001).await.unwrap();
    wsc.cancel_job(5002).await.unwrap();
    s.sim.advance(Duration::from_secs(70));
    s.watcher.poll_once(&s.port).await;
    assert!(
        content(&s.message_about(5001)).starts_with("⏹️ Scan stopped"),
        "{}",
        content(&s.message_about(5001))
    );
    assert!(content(&s.message_about(5002)).starts_with("✖️ Scan cancelled"));
    assert!(content(&s.message_about(5003)).starts_with("❌ Scan failed"));
    let before = (s.posts().len(), s.edits().len());
    s.watcher.poll_once(&s.port).await;
    assert_eq!((s.posts().len(), s.edits().len()), before);
    s.assert_payloads_valid();
    s.discord.assert_clean().await;
}

#[tokio::test]
async fn polls_back_off_under_429_and_recover() {
    let mut s = setup("en-US").await;
    s.sim.set_fault(Operation::List, Fault { error: Some(FaultError::RateLimited), ..Fault::default() });
    let waits = [
        s.watcher.poll_once(&s.port).await,
        s.watcher.poll_once(&s.port).await,
        s.watcher.poll_once(&s.port).await,
    ];
    assert_eq!(waits, [INTERVAL * 2, INTERVAL * 4, INTERVAL * 8]);
    s.sim.set_fault(Operation::List, Fault { error: Some(FaultError::Gateway(503)), ..Fault::default() });
    assert_eq!(s.watcher.poll_once(&s.port).await, INTERVAL * 16, "5xx backs off too");
    s.sim.clear_faults();
    assert_eq!(s.watcher.poll_once(&s.port).await, INTERVAL);
    assert!(s.posts().is_empty(), "the first successful poll is still the baseline");
    s.discord.assert_clean().await;
}

#[tokio::test]
async fn the_watch_channel_speaks_the_guilds_language() {
    let mut s = setup("ko").await;
    s.watcher.poll_once(&s.port).await;
    s.sim.advance(Duration::from_secs(3610));
    s.watcher.poll_once(&s.port).await;
    let started = s.message_about(1000000008);
    assert!(content(&started).starts_with("▶️ 스캔이 시작되었습니다"), "{}", content(&started));
    assert_eq!(started["embeds"][0]["fields"][0]["name"], "상태");
    s.assert_payloads_valid();
    s.discord.assert_clean().await;
}

#[tokio::test]
async fn the_backoff_doubles_up_to_ten_minutes() {
    let s = setup("en-US").await;
    let interval = Duration::from_secs(60);
    let mut watcher = watcher(&s.sim, interval);
    s.sim.set_fault(Operation::List, Fault { error: Some(FaultError::RateLimited), ..Fault::default() });
    let mut waits = Vec::new();
    for _ in 0..6 {
        waits.push(watcher.poll_once(&s.port).await.as_secs());
    }
    assert_eq!(waits, [120, 240, 480, 600, 600, 600], "capped at 10 minutes");
    s.sim.clear_faults();
    assert_eq!(watcher.poll_once(&s.port).await, interval, "back to the interval after a success");
    s.discord.assert_clean().await;
}

/// `WSC_WATCH_CHANNEL_ID` set: the bot itself watches, in both front ends.
#[tokio::test]
async fn the_bot_watches_when_a_watch_channel_is_configured() {
    use common::bot::{start_bot_in, Front};
    let watched = |front| async move {
        let extra = [
            ("WSC_WATCH_CHANNEL_ID", WATCH_CHANNEL.to_string()),
            ("WSC_WATCH_INTERVAL_SECS", "10".to_owned()),
        ];
        let bot = start_bot_in(front, FakeDiscord::start().await, settings(), 5, &extra).await;
        // The first poll, at start, is the baseline.
        let polled = || bot.sim.requests().iter().any(|r| r.operation == Some(Operation::List));
        let started = std::time::Instant::now();
        while !polled() && started.elapsed() < Duration::from_secs(5) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(polled(), "{front:?}: the watcher polled at start");
        bot.sim.advance(Duration::from_secs(3610));
        let path = format!("/api/v10/channels/{WATCH_CHANNEL}/messages");
        let started = bot
            .call_within("a notification", Duration::from_secs(15), |c| {
                c.method == "POST" && c.path == path && c.status < 300
            })
            .await;
        assert!(started.body["content"].as_str().unwrap().contains("Scan started"), "{front:?}");
        bot.finish().await;
    };
    tokio::join!(watched(Front::Gateway), watched(Front::Serve));
}

#[tokio::test]
async fn a_notification_discord_refused_is_told_at_the_next_poll_exactly_once() {
    let mut s = setup("en-US").await;
    s.watcher.poll_once(&s.port).await;
    let messages = format!("/api/v10/channels/{WATCH_CHANNEL}/messages");
    let accepted = |calls: Vec<RestCall>| calls.iter().filter(|c| c.status < 300).count();

    // A job starts, near the end of its scan, and Discord refuses the post once.
    s.sim.add_job(SeedJob { phase_percent: 99, ..seed(6001, Phase::Scanning, Outcome::Success) });
    s.discord.fail_next("POST", &messages, 500, 1);
    s.watcher.poll_once(&s.port).await;
    assert_eq!((s.posts().len(), accepted(s.posts())), (1, 0), "tried once, refused");
    s.watcher.poll_once(&s.port).await;
    assert_eq!(accepted(s.posts()), 1, "the next poll tells it");
    assert!(content(&s.message_about(6001)).starts_with("▶️ Scan started"));
    s.watcher.poll_once(&s.port).await;
    assert_eq!((s.posts().len(), accepted(s.posts())), (2, 1), "and only once");

    // It finishes (alone: the other jobs are still running), and Discord refuses both the edit
    // and the fresh post: the next poll edits the same message, and posts nothing new.
    s.sim.advance(Duration::from_secs(10));
    s.discord.fail_next("PATCH", &messages, 500, 1);
    s.discord.fail_next("POST", &messages, 500, 1);
    s.watcher.poll_once(&s.port).await;
    assert!(content(&s.message_about(6001)).starts_with("▶️ Scan started"), "unchanged so far");
    s.watcher.poll_once(&s.port).await;
    assert!(
        content(&s.message_about(6001)).starts_with("✅ Scan finished"),
        "{}",
        content(&s.message_about(6001))
    );
    s.watcher.poll_once(&s.port).await;
    assert_eq!((accepted(s.posts()), accepted(s.edits())), (1, 1), "one message, edited once");
    assert_eq!(s.discord.channel_messages(WATCH_CHANNEL).len(), 1);
    s.assert_payloads_valid();
    s.discord.assert_clean().await;
}

#[tokio::test]
async fn a_job_started_and_stopped_between_two_polls_is_announced_as_stopped() {
    let mut s = setup("en-US").await;
    // Both start within the minute; the first poll sees them waiting.
    s.sim.add_job(seed(7001, Phase::Scheduled, Outcome::Success));
    s.sim.add_job(seed(7002, Phase::Scheduled, Outcome::Success));
    s.sim.add_job(seed(7003, Phase::Scheduled, Outcome::Success));
    s.watcher.poll_once(&s.port).await;
    s.sim.advance(Duration::from_secs(70));
    let wsc = client(&s.sim);
    // Between the two polls: 7001 starts and has stopped (93), 7002 starts and is stopping (92),
    // 7003 starts, and 7004, new, is cancelled (91) before any poll sees it.
    wsc.stop_job(7001).await.unwrap();
    s.sim.advance(Duration::from_secs(10));
    wsc.stop_job(7002).await.unwrap();
    s.sim.add_job(seed(7004, Phase::Scheduled, Outcome::Success));
    wsc.cancel_job(7004).await.unwrap();
    assert_eq!((s.sim.phase(7001), s.sim.phase(7002)), (Some(Phase::Stopped), Some(Phase::Stopping)));
    // While the status codes cannot be read, nothing is guessed: the next poll asks again.
    s.sim.set_fault(Operation::Search, Fault { error: Some(FaultError::Gateway(500)), ..Fault::default() });
    s.watcher.poll_once(&s.port).await;
    assert_eq!(s.posts().len(), 1, "only the start of 7003 is told");
    s.sim.clear_faults();
    s.watcher.poll_once(&s.port).await;
    for stopped in [7001, 7002] {
        let told = content(&s.message_about(stopped)).to_owned();
        assert!(told.starts_with("⏹️ Scan stopped"), "{stopped}: {told}");
    }
    assert!(content(&s.message_about(7003)).starts_with("▶️ Scan started"));
    assert!(content(&s.message_about(7004)).starts_with("✖️ Scan cancelled"));
    assert_eq!(s.posts().len(), 4);
    s.watcher.poll_once(&s.port).await;
    let searches = s.sim.requests_for(Operation::Search).len();
    s.watcher.poll_once(&s.port).await;
    assert_eq!(s.sim.requests_for(Operation::Search).len(), searches, "no status search once all is known");
    s.assert_payloads_valid();
    s.discord.assert_clean().await;
}
