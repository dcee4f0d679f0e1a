//! What survives a `kill -9`: the bot's state is in its store (a SQLite file here), so a
//! restarted bot edits the messages it posted instead of posting again, and settles a stop it
//! was killed in the middle of.

mod common;

use std::time::Duration;

use common::bot::*;
use common::fake_discord::{FakeDiscord, WATCH_CHANNEL};
use common::process::BotProcess;
use common::{settings, sqlite_url};
use serde_json::{json, Value};
use wsc_bot::wsc::sim::Fault;
use wsc_bot::wsc::Operation;

/// The scheduled job of the default seed.
const SCHEDULED_JOB: u64 = SCHEDULED;

#[tokio::test]
async fn a_change_while_the_bot_was_down_is_announced_once_by_editing_its_message() {
    let database = sqlite_url();
    let extra = [
        ("WSC_DATABASE_URL", database.clone()),
        ("WSC_WATCH_CHANNEL_ID", WATCH_CHANNEL.to_string()),
        ("WSC_WATCH_INTERVAL_SECS", "10".to_owned()),
    ];
    let (bot, process) =
        start_process_in(Front::Gateway, FakeDiscord::start().await, settings(), 5, &extra).await;
    let posts = || {
        let path = format!("/api/v10/channels/{WATCH_CHANNEL}/messages");
        bot.discord
            .rest_calls()
            .into_iter()
            .filter(|c| c.method == "POST" && c.path == path)
            .collect::<Vec<_>>()
    };
    // The first poll is the baseline; an hour on, the next poll announces what moved.
    let sim = &bot.sim;
    let polled = |n: usize| move |_: &FakeDiscord| sim.requests_for(Operation::List).len() >= n;
    assert!(bot.discord.wait_until(polled(1), WAIT).await, "the baseline poll");
    bot.sim.advance(Duration::from_secs(3_610));
    let started = format!("wsc:v1:stop:{SCHEDULED_JOB}");
    let announced = bot
        .call_within("the scheduled job announced as started", Duration::from_secs(25), |c| {
            c.method == "POST" && custom_ids(&c.body).contains(&started)
        })
        .await;
    let message_id = bot.discord.messages().into_iter().find(|m| custom_ids(m).contains(&started)).unwrap()
        ["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!posts().is_empty(), "{announced:?}");
    // Killed while watching, once the poll that announced has ended (the next one has begun);
    // the scan finishes while the bot is down.
    let polls = bot.sim.requests_for(Operation::List).len();
    assert!(bot.discord.wait_until(polled(polls + 1), Duration::from_secs(25)).await, "the next poll");
    drop(process);
    bot.sim.advance(Duration::from_secs(3_600));
    bot.discord.clear_rest_calls();
    let vars = test_vars(&bot.discord, &bot.sim, 5, &extra);
    let restarted = BotProcess::spawn(&["run"], &vars);
    let edit_path = format!("/api/v10/channels/{WATCH_CHANNEL}/messages/{message_id}");
    let edit = bot
        .call_within("the job's own message edited", Duration::from_secs(25), |c| {
            c.method == "PATCH" && c.path == edit_path && c.status < 300
        })
        .await;
    let content = edit.body["content"].as_str().unwrap_or_default();
    assert!(content.contains("Scan finished"), "{content}");
    assert!(custom_ids(&edit.body).is_empty(), "no Stop button once the job has finished: {}", edit.body);
    // The sentinel: the next poll has begun, so the one that edited has ended.
    let polls = bot.sim.requests_for(Operation::List).len();
    assert!(bot.discord.wait_until(polled(polls + 1), Duration::from_secs(25)).await, "the next poll");
    assert!(posts().is_empty(), "nothing posted anew after the restart: {:?}", posts());
    let edits =
        bot.discord.rest_calls().into_iter().filter(|c| c.method == "PATCH" && c.path == edit_path).count();
    assert_eq!(edits, 1, "the change is told once");
    drop(restarted);
    bot.finish().await;
}

#[tokio::test]
async fn a_stop_killed_between_the_call_and_the_answer_is_settled_after_the_restart() {
    let database = sqlite_url();
    let extra = [("WSC_DATABASE_URL", database.clone())];
    // WSC stops the job, then takes 5 s to say so; a claim lasts 4 × 2 s.
    let mut sim_settings = settings();
    sim_settings.faults = vec![(Operation::Stop, Fault { answer_latency_ms: 5_000, ..Fault::default() })];
    let (bot, process) =
        start_process_in(Front::Gateway, FakeDiscord::start().await, sim_settings, 2, &extra).await;
    let ask = bot.command(&operator(), "stop", instance_arg(SCANNING)).await;
    let confirmation = bot.original(ask).await;
    bot.click(&operator(), &format!("wsc:v1:confirm-stop:{SCANNING}"), confirmation).await;
    assert!(
        bot.discord.wait_until(|_| !bot.sim.requests_for(Operation::Stop).is_empty(), WAIT).await,
        "the stop reached WSC"
    );
    drop(process); // kill -9, while WSC has not answered
    let vars = test_vars(&bot.discord, &bot.sim, 2, &extra);
    let restarted = BotProcess::spawn(&["run"], &vars);
    let line = bot
        .call_within("the settled outcome in the audit channel", Duration::from_secs(40), |c| {
            c.body["content"].as_str().is_some_and(|t| t.contains(&format!("**unconfirmed** job {SCANNING}")))
        })
        .await;
    let text = line.body["content"].as_str().unwrap();
    assert!(text.contains("settled after a restart"), "{text}");
    drop(restarted);

    // The store's trail: the attempt and its settled outcome, under one correlation id.
    let output = common::process::command(
        &["audit", "--job", &SCANNING.to_string(), "--format", "jsonl"],
        [("WSC_DATABASE_URL", database.as_str())],
    )
    .output()
    .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let events: Vec<Value> =
        String::from_utf8_lossy(&output.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let outcomes: Vec<&str> = events.iter().map(|e| e["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["unconfirmed", "attempted"], "newest first: {events:#?}");
    assert_eq!(events[0]["correlation"], events[1]["correlation"]);
    assert_eq!(events[1]["actor_id"], json!(operator().user_id));
    assert_eq!(bot.sim.requests_for(Operation::Stop).len(), 1, "never sent again");
    bot.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_postgresql_down_a_stop_still_works_and_its_audit_is_written_once_it_is_back() {
    let postgres = common::postgres::Postgres::start();
    let url = postgres.new_database().await;
    let extra = [("WSC_DATABASE_URL", url.clone())];
    // WSC_REQUEST_TIMEOUT_SECS 2: the unsaved events are tried again every 8 s.
    let bot = start_bot_in(Front::Gateway, FakeDiscord::start().await, settings(), 2, &extra).await;
    bot.still_serves().await;

    postgres.kill(); // kill -9: the store is gone in the middle of the run
    let ask = bot.command(&operator(), "stop", instance_arg(SCANNING)).await;
    let confirmation = bot.original(ask).await;
    bot.click(&operator(), &format!("wsc:v1:confirm-stop:{SCANNING}"), confirmation).await;
    bot.audit_line("done", SCANNING).await;
    assert_eq!(bot.sim.requests_for(Operation::Stop).len(), 1, "the stop went through, once");
    let unreachable =
        common::process::command(&["audit"], [("WSC_DATABASE_URL", url.as_str())]).output().unwrap();
    assert!(!unreachable.status.success(), "the store really was down during the stop");

    postgres.restart();
    let trail = || {
        let output = common::process::command(
            &["audit", "--job", &SCANNING.to_string(), "--format", "jsonl"],
            [("WSC_DATABASE_URL", url.as_str())],
        )
        .output()
        .unwrap();
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect::<Vec<Value>>()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut events = trail();
    while events.len() < 2 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
        events = trail();
    }
    let outcomes: Vec<&str> = events.iter().map(|e| e["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["done", "attempted"], "written once the store was back, newest first");
    assert_eq!(events[0]["correlation"], events[1]["correlation"]);
    bot.finish().await;
}
