//! Scan-state notifications: the watcher polls the simulator and posts to the fake Discord over
//! serenity's real HTTP client, one message per job, edited in place.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::bot::custom_ids;
use common::discord_spec::check_request;
use common::fake_discord::{FakeDiscord, RestCall, WATCH_CHANNEL};
use common::{client, settings, start_sim, ACCESS_KEY, SECRET_KEY};
use serde_json::Value;
use wsc_bot::bot::watch::Watcher;
use wsc_bot::config::Config;
use wsc_bot::discord::gateway::{http_client, GatewayDiscord};
use wsc_bot::wsc::sim::jobs::Outcome;
use wsc_bot::wsc::sim::{Fault, FaultError, Phase, SeedJob, SimHandle};
use wsc_bot::wsc::Operation;

const INTERVAL: Duration = Duration::from_secs(1);

struct Setup {
    discord: FakeDiscord,
    port: GatewayDiscord,
    sim: SimHandle,
    watcher: Watcher,
}

async fn setup(guild_locale: &str) -> Setup {
    let sim = start_sim(settings()).await;
    let discord = FakeDiscord::start().await;
    discord.set_guild_locale(guild_locale);
    let vars = HashMap::from([
        ("DISCORD_TOKEN", common::secrets::DISCORD_TOKEN.to_owned()),
        ("DISCORD_API_BASE", discord.api_base()),
        ("NCP_ACCESS_KEY", ACCESS_KEY.to_owned()),
        ("NCP_SECRET_KEY", SECRET_KEY.to_owned()),
        ("WSC_API_BASE", sim.base_url()),
    ]);
    let config = Config::from_lookup(|name| vars.get(name).cloned()).unwrap();
    let port = GatewayDiscord { http: std::sync::Arc::new(http_client(&config).unwrap()) };
    let watcher = Watcher::new(client(&sim), WATCH_CHANNEL, INTERVAL);
    Setup { discord, port, sim, watcher }
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
