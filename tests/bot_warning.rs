//! A warning before a scheduled scan starts (`WSC_WARN_BEFORE_MINS`): one message with its
//! Cancel button, edited when the scan starts; never twice for one job, across restarts, because
//! the warning is remembered in the store.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::bot::*;
use common::fake_discord::{FakeDiscord, RestCall, WATCH_CHANNEL};
use common::process::BotProcess;
use common::{client, settings, sqlite_url, start_sim};
use serde_json::Value;
use wsc_bot::bot::watch::{WatchSettings, Watcher};
use wsc_bot::metrics::Metrics;
use wsc_bot::wsc::sim::jobs::Outcome;
use wsc_bot::wsc::sim::{Phase, SeedJob, SimHandle};
use wsc_bot::wsc::Operation;

const SOON: u64 = 9001;
const ALSO_SOON: u64 = 9002;
const INTERVAL: Duration = Duration::from_secs(1);
const TEN_MINUTES: Duration = Duration::from_secs(600);

fn scheduled(instance_no: u64, starts_in_secs: u64) -> SeedJob {
    SeedJob {
        instance_no,
        start_url: format!("https://job{instance_no}.example/"),
        memo: None,
        phase: Phase::Scheduled,
        phase_percent: 0,
        starts_in_secs,
        crawl_secs: 120,
        scan_secs: 600,
        outcome: Outcome::Success,
        crawled_urls: 10,
        risk: [0, 1, 2],
        status_label: None,
    }
}

/// A watcher of `WATCH_CHANNEL` on the store at `url`, as a freshly started core has it.
async fn watcher(sim: &SimHandle, url: &str, warn_before: Duration) -> Watcher {
    let store = Arc::new(wsc_bot::store::open(url).await.expect("the store opens"));
    let settings = WatchSettings { channel_id: WATCH_CHANNEL, interval: INTERVAL, warn_before, demo: false };
    Watcher::new(client(sim), settings, store, Metrics::new())
}

fn watch_calls(discord: &FakeDiscord, method: &str) -> Vec<RestCall> {
    let prefix = format!("/api/v10/channels/{WATCH_CHANNEL}/messages");
    discord.rest_calls().into_iter().filter(|c| c.method == method && c.path.starts_with(&prefix)).collect()
}

fn warnings(discord: &FakeDiscord) -> Vec<RestCall> {
    watch_calls(discord, "POST")
        .into_iter()
        .filter(|c| c.status < 300 && text(&c.body).contains("Scan starts in"))
        .collect()
}

fn text(value: &Value) -> &str {
    value["content"].as_str().unwrap_or_default()
}

/// The id of the watch message about `instance`.
fn message_about(discord: &FakeDiscord, instance: u64) -> String {
    let marker = format!("(job {instance})");
    let message = discord.channel_messages(WATCH_CHANNEL).into_iter().find(|m| text(m).contains(&marker));
    message.expect("a message about the job")["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_core_restarted_on_the_same_sqlite_file_never_warns_twice_and_edits_the_warning() {
    let sim = start_sim(settings()).await;
    sim.add_job(scheduled(SOON, 300));
    sim.add_job(scheduled(ALSO_SOON, 240));
    let discord = FakeDiscord::start().await;
    let port = rest_port(&discord, &sim);
    let url = sqlite_url();

    // The first poll: old jobs are not announced, but what is to come is.
    let mut first = watcher(&sim, &url, TEN_MINUTES).await;
    first.poll_once(&port).await;
    let told = warnings(&discord);
    assert_eq!(told.len(), 2, "the two jobs due within ten minutes, not the one due in an hour");
    let soon = told.iter().find(|c| text(&c.body).contains(&format!("(job {SOON})"))).unwrap();
    assert!(
        text(&soon.body).starts_with("⏰ Scan starts in 5 min: `https://job9001.example/`"),
        "{}",
        text(&soon.body)
    );
    assert_eq!(custom_ids(&soon.body), [format!("wsc:v1:cancel:{SOON}")], "its Cancel button");
    assert_inert(&soon.body);
    first.poll_once(&port).await;
    assert_eq!(warnings(&discord).len(), 2, "told once");

    // The core restarts on the same file (the old one's lease lapses after two intervals).
    drop(first);
    tokio::time::sleep(INTERVAL * 2 + Duration::from_millis(200)).await;
    let mut second = watcher(&sim, &url, TEN_MINUTES).await;
    second.poll_once(&port).await;
    assert_eq!(warnings(&discord).len(), 2, "not told again after the restart");
    assert!(watch_calls(&discord, "PATCH").is_empty(), "nothing moved");

    // One is cancelled, the other starts: each warning is edited, nothing is posted anew.
    client(&sim).cancel_job(ALSO_SOON).await.expect("cancelled");
    // Due, then past the few seconds a job waits to crawl.
    sim.advance(Duration::from_secs(310));
    second.poll_once(&port).await;
    let (soon_id, also_id) = (message_about(&discord, SOON), message_about(&discord, ALSO_SOON));
    let soon_now = discord.message(soon_id.parse().unwrap()).unwrap();
    assert!(text(&soon_now).starts_with("▶️ Scan started"), "{}", text(&soon_now));
    assert_eq!(custom_ids(&soon_now), [format!("wsc:v1:stop:{SOON}")]);
    let also_now = discord.message(also_id.parse().unwrap()).unwrap();
    assert!(text(&also_now).starts_with("✖️ Scan cancelled"), "{}", text(&also_now));
    assert_eq!(watch_calls(&discord, "POST").len(), 2, "no new message");
    assert_eq!(watch_calls(&discord, "PATCH").len(), 2);
    discord.assert_clean().await;
}

#[tokio::test]
async fn zero_minutes_turns_the_warning_off() {
    let sim = start_sim(settings()).await;
    sim.add_job(scheduled(SOON, 60));
    let discord = FakeDiscord::start().await;
    let port = rest_port(&discord, &sim);
    let mut watcher = watcher(&sim, &sqlite_url(), Duration::ZERO).await;
    watcher.poll_once(&port).await;
    watcher.poll_once(&port).await;
    assert!(watch_calls(&discord, "POST").is_empty());
    discord.assert_clean().await;
}

/// End to end, `run` and `serve`: the process is killed (SIGKILL) after posting the warning, and
/// the one started in its place on the same SQLite file does not post it again, but edits it when
/// the scan starts.
#[tokio::test]
async fn the_warning_survives_a_kill_9_and_is_edited_when_the_scan_starts() {
    let warned = |front: Front| async move {
        let extra = [
            ("WSC_DATABASE_URL", sqlite_url()),
            ("WSC_WATCH_CHANNEL_ID", WATCH_CHANNEL.to_string()),
            ("WSC_WATCH_INTERVAL_SECS", "10".to_owned()),
            ("WSC_WARN_BEFORE_MINS", "10".to_owned()),
        ];
        let mut sim = settings();
        sim.seed.push(scheduled(SOON, 300));
        let (bot, process) = start_process_in(front, FakeDiscord::start().await, sim, 5, &extra).await;
        let warning = bot
            .call_within("the warning", Duration::from_secs(15), |c| {
                c.method == "POST" && c.status < 300 && text(&c.body).contains("Scan starts in")
            })
            .await;
        assert_eq!(custom_ids(&warning.body), [format!("wsc:v1:cancel:{SOON}")], "{front:?}");
        let message_id = message_about(&bot.discord, SOON);
        // Killed once the poll that warned has ended (the next one has begun).
        let polls = || bot.sim.requests_for(Operation::List).len();
        let seen = polls();
        assert!(bot.discord.wait_until(|_| polls() > seen, Duration::from_secs(25)).await, "the next poll");
        drop(process);

        let mut vars = test_vars(&bot.discord, &bot.sim, 5, &extra);
        let command = match front {
            Front::Gateway => "run",
            Front::Serve => {
                vars.insert("WSC_HTTP_LISTEN", "127.0.0.1:0".to_owned());
                "serve"
            }
        };
        let restarted = BotProcess::spawn(&[command], &vars);
        // Its first poll (once the dead process's lease has lapsed) warns nobody again.
        let seen = polls();
        assert!(
            bot.discord.wait_until(|_| polls() > seen, Duration::from_secs(30)).await,
            "{front:?}: polled"
        );
        bot.sim.advance(Duration::from_secs(300));
        let edit_path = format!("/api/v10/channels/{WATCH_CHANNEL}/messages/{message_id}");
        let edit = bot
            .call_within("the warning edited", Duration::from_secs(25), |c| {
                c.method == "PATCH" && c.path == edit_path && c.status < 300
            })
            .await;
        assert!(text(&edit.body).starts_with("▶️ Scan started"), "{front:?}: {}", text(&edit.body));
        assert_eq!(warnings(&bot.discord).len(), 1, "{front:?}: warned once, across the kill");
        assert_eq!(watch_calls(&bot.discord, "POST").len(), 1, "{front:?}: one message for the job");
        drop(restarted);
        bot.finish().await;
    };
    tokio::join!(warned(Front::Gateway), warned(Front::Serve));
}
