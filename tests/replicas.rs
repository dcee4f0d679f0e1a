//! `serve` replicas behind a load balancer, sharing one PostgreSQL database: every interaction
//! is answered once whichever replica gets it, simultaneous confirms of one stop make one WSC
//! call, and the watcher polls on one replica at a time, another taking over when it dies.
//! PostgreSQL is a throwaway server (`common::postgres`); without one these tests fail, never skip.

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::bot::{custom_ids, instance_arg, operator, viewer, CRAWLING, SCANNING, SCHEDULED};
use common::fake_discord::{
    component_click, slash_command, FakeDiscord, Member, RestCall, APPLICATION_ID, AUDIT_CHANNEL,
    WATCH_CHANNEL,
};
use common::process::BotProcess;
use common::serve::{now_secs, post, replica_vars, signed_post, spawn_replica, start_serve_with};
use common::{settings, start_sim};
use serde_json::{json, Value};
use sqlx::Connection;
use wsc_bot::wsc::sim::{Fault, Phase};
use wsc_bot::wsc::Operation;

const WAIT: Duration = Duration::from_secs(10);
/// Interaction ids of this test binary, unique across its tests.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn command(member: &Member, sub: &str, options: Value) -> Value {
    let id = NEXT_ID.fetch_add(1, Ordering::SeqCst);
    let data = json!({"id": "1", "name": "wsc", "type": 1, "options": [{"name": sub, "type": 1, "options": options}]});
    slash_command(id, member, "en-US", data)
}

fn click(member: &Member, custom_id: &str, message: Value) -> Value {
    component_click(NEXT_ID.fetch_add(1, Ordering::SeqCst), member, "en-US", custom_id, message)
}

fn id_of(interaction: &Value) -> u64 {
    interaction["id"].as_str().unwrap().parse().unwrap()
}

fn token_of(interaction: &Value) -> String {
    interaction["token"].as_str().unwrap().to_owned()
}

async fn original(discord: &FakeDiscord, interaction: &Value) -> Value {
    let token = interaction["token"].as_str().unwrap();
    discord.final_original(token, WAIT).await.expect("the interaction's answer")
}

/// The operator's `/wsc stop <instance>` on `replica`, and the confirmation it got.
async fn ask_to_stop(discord: &FakeDiscord, replica: &str, instance: u64) -> Value {
    let ask = command(&operator(), "stop", instance_arg(instance));
    post(discord, replica, &ask).await;
    let confirmation = original(discord, &ask).await;
    let confirm = format!("wsc:v1:confirm-stop:{instance}");
    assert!(custom_ids(&confirmation).contains(&confirm), "{confirmation:#}");
    confirmation
}

/// The sentinel: a `/wsc jobs` on `replica` served in full. What the bot was going to do with
/// the interactions before it has been done by then.
async fn next_is_served(discord: &FakeDiscord, replica: &str) {
    let list = command(&viewer(), "jobs", json!([]));
    assert_eq!(post(discord, replica, &list).await.0, 200);
    assert_eq!(original(discord, &list).await["embeds"].as_array().unwrap().len(), 5);
}

/// The audit trail in the store, read with `wsc-bot audit` as the security team would.
async fn audit_trail(database: &str) -> Vec<Value> {
    let database = database.to_owned();
    let output = tokio::task::spawn_blocking(move || {
        common::process::command(&["audit", "--format", "jsonl"], [("WSC_DATABASE_URL", database.as_str())])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// Nine taps on one confirmation at once, spread over three replicas: claims in the shared
/// database let one of them stop the job; the others are told it is under way or no longer runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn n_confirms_of_one_stop_spread_over_three_replicas_make_one_wsc_call() {
    let mut settings = settings();
    // WSC takes a second to stop: the taps overlap the one that got through.
    settings.faults = vec![(Operation::Stop, Fault { latency_ms: 1_000, ..Fault::default() })];
    let sim = start_sim(settings).await;
    let discord = FakeDiscord::start().await;
    let database = common::postgres::database().await;
    let vars = replica_vars(&discord, &sim, &database);
    let (processes, replicas): (Vec<BotProcess>, Vec<String>) = (0..3).map(|_| spawn_replica(&vars)).unzip();

    let confirmation = ask_to_stop(&discord, &replicas[0], SCANNING).await;
    let confirm_id = format!("wsc:v1:confirm-stop:{SCANNING}");
    let clicks: Vec<Value> = (0..9).map(|_| click(&operator(), &confirm_id, confirmation.clone())).collect();
    let answers = futures_util::future::join_all(
        clicks.iter().enumerate().map(|(i, c)| post(&discord, &replicas[i % replicas.len()], c)),
    )
    .await;
    for (status, answer) in &answers {
        assert_eq!((*status, answer["type"].as_u64()), (200, Some(7)), "every tap answered: {answer}");
    }

    // Every tap leaves one outcome in the trail, whichever replica took it.
    let ids: HashSet<u64> = clicks.iter().map(id_of).collect();
    let started = Instant::now();
    let outcomes = loop {
        let trail = audit_trail(&database).await;
        let ours: Vec<&Value> =
            trail.iter().filter(|e| e["interaction"].as_u64().is_some_and(|i| ids.contains(&i))).collect();
        let ended: Vec<String> = ours
            .iter()
            .filter(|e| e["outcome"] != "attempted")
            .map(|e| e["outcome"].as_str().unwrap().to_owned())
            .collect();
        if ended.len() >= clicks.len() || started.elapsed() > WAIT {
            let attempted: Vec<&&Value> = ours.iter().filter(|e| e["outcome"] == "attempted").collect();
            assert_eq!(attempted.len(), 1, "one attempt reached WSC: {ours:#?}");
            let done: Vec<&&Value> = ours.iter().filter(|e| e["outcome"] == "done").collect();
            assert_eq!(done.len(), 1, "{ours:#?}");
            assert_eq!(done[0]["correlation"], attempted[0]["correlation"], "the attempt that was done");
            let answered: HashSet<u64> = ours.iter().filter_map(|e| e["interaction"].as_u64()).collect();
            assert_eq!(answered, ids, "every tap is in the trail");
            break ended;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(outcomes.len(), clicks.len(), "one outcome per tap: {outcomes:?}");
    let others: Vec<&String> = outcomes.iter().filter(|o| *o != "done").collect();
    assert!(
        others.iter().all(|o| *o == "already_in_progress" || *o == "not_applicable"),
        "the other taps were told it is under way or no longer runs: {outcomes:?}"
    );

    next_is_served(&discord, &replicas[2]).await;
    assert_eq!(sim.requests_for(Operation::Stop).len(), 1, "one stop reached WSC");
    assert_eq!(sim.phase(SCANNING), Some(Phase::Stopping));
    let told: usize = clicks.iter().map(|c| discord.followups(&token_of(c)).len()).sum();
    assert_eq!(told, 1, "the team is told once");
    let audit_path = format!("/api/v10/channels/{AUDIT_CHANNEL}/messages");
    let done_line = format!("**done** job {SCANNING}");
    let done_lines = discord.count_calls(|c| {
        c.path == audit_path && c.body["content"].as_str().is_some_and(|t| t.contains(&done_line))
    });
    assert_eq!(done_lines, 1, "one `done` line in the audit channel");
    drop(processes);
    discord.assert_clean().await;
}

/// Discord delivering one signed interaction twice, to two replicas: in turn, and at once. The
/// shared database lets exactly one replica act on it; the other answers 409 and does nothing.
#[tokio::test]
async fn a_replayed_interaction_is_answered_once_whichever_replica_gets_it() {
    let sim = start_sim(settings()).await;
    let discord = FakeDiscord::start().await;
    let database = common::postgres::database().await;
    let vars = replica_vars(&discord, &sim, &database);
    let (a, _task_a) = start_serve_with(&vars).await;
    let (b, _task_b) = start_serve_with(&vars).await;

    // In turn: A acts; the same bytes, signature and all, then reach B.
    let confirmation = ask_to_stop(&discord, &a, SCANNING).await;
    let confirm = click(&operator(), &format!("wsc:v1:confirm-stop:{SCANNING}"), confirmation);
    let (body, timestamp, token) = (confirm.to_string(), now_secs().to_string(), token_of(&confirm));
    discord.deliver_inline(&confirm);
    let first = signed_post(&a, &body, &timestamp).send().await.unwrap();
    assert_eq!(first.status(), 200);
    let answer: Value = first.json().await.unwrap();
    assert_eq!(discord.answered_inline(id_of(&confirm), &token, 200, &answer), 204);
    let followup = format!("/api/v10/webhooks/{APPLICATION_ID}/{token}");
    discord.wait_for_call(|c| c.method == "POST" && c.path == followup, WAIT).await.expect("the outcome");
    discord.audit_line("done", SCANNING, WAIT).await.expect("the audit line, the last thing done");
    next_is_served(&discord, &a).await;
    let (wsc_calls, discord_calls) = (sim.requests().len(), discord.rest_calls().len());
    let replay = signed_post(&b, &body, &timestamp).send().await.unwrap();
    assert_eq!(replay.status(), 409, "the other replica knows it was received");
    assert_eq!(replay.text().await.unwrap(), "already received\n");
    // Nothing of the replay reaches WSC or Discord: the sentinel is all that follows it.
    let calls_before_sentinel = discord.rest_calls().len();
    assert_eq!(sim.requests().len(), wsc_calls, "WSC saw nothing of the replay");
    assert_eq!(calls_before_sentinel, discord_calls, "and neither did Discord");
    next_is_served(&discord, &b).await;
    let with_token: Vec<RestCall> =
        discord.rest_calls().into_iter().filter(|c| c.path.contains(&token)).collect();
    let callbacks = with_token.iter().filter(|c| c.path.ends_with("/callback")).count();
    assert_eq!(callbacks, 1, "one answer: {with_token:#?}");
    assert_eq!(discord.followups(&token).len(), 1, "the team is told once");

    // At once: the same delivery reaches both replicas together; one acts, the other refuses.
    let confirmation = ask_to_stop(&discord, &b, CRAWLING).await;
    let confirm = click(&operator(), &format!("wsc:v1:confirm-stop:{CRAWLING}"), confirmation);
    let (body, timestamp, token) = (confirm.to_string(), now_secs().to_string(), token_of(&confirm));
    discord.deliver_inline(&confirm);
    let (at_a, at_b) =
        tokio::join!(signed_post(&a, &body, &timestamp).send(), signed_post(&b, &body, &timestamp).send());
    let (at_a, at_b) = (at_a.unwrap(), at_b.unwrap());
    let mut statuses = [at_a.status().as_u16(), at_b.status().as_u16()];
    let answered = if statuses[0] == 200 { at_a } else { at_b };
    statuses.sort();
    assert_eq!(statuses, [200, 409], "exactly one replica takes it");
    let answer: Value = answered.json().await.unwrap();
    assert_eq!(answer["type"], 7);
    assert_eq!(discord.answered_inline(id_of(&confirm), &token, 200, &answer), 204);
    let followup = format!("/api/v10/webhooks/{APPLICATION_ID}/{token}");
    discord.wait_for_call(|c| c.method == "POST" && c.path == followup, WAIT).await.expect("the outcome");
    next_is_served(&discord, &a).await;
    next_is_served(&discord, &b).await;
    assert_eq!(discord.followups(&token).len(), 1, "the team is told once");
    let stops: Vec<Option<u64>> = sim.requests_for(Operation::Stop).iter().map(|r| r.instance_no).collect();
    assert_eq!(stops, [Some(SCANNING), Some(CRAWLING)], "one WSC call per confirm");
    discord.assert_clean().await;
}

/// The replica holding the watcher's lease, by process id (a holder is `<pid>-<random>`).
async fn watch_leader(database: &str) -> Option<u32> {
    let mut db = sqlx::PgConnection::connect(database).await.unwrap();
    let holder: Option<String> = sqlx::query_scalar("SELECT holder FROM leases WHERE name = $1")
        .bind(format!("watch:{WATCH_CHANNEL}"))
        .fetch_optional(&mut db)
        .await
        .unwrap();
    db.close().await.ok();
    holder.and_then(|h| h.split('-').next()?.parse().ok())
}

/// What the store remembers of `instance` in the watch channel: its stage and message.
async fn remembered(database: &str, instance: u64) -> Option<(String, Option<i64>)> {
    let mut db = sqlx::PgConnection::connect(database).await.unwrap();
    let row: Option<(String, Option<i64>)> =
        sqlx::query_as("SELECT stage, message_id FROM watch_jobs WHERE channel = $1 AND instance = $2")
            .bind(WATCH_CHANNEL as i64)
            .bind(instance as i64)
            .fetch_optional(&mut db)
            .await
            .unwrap();
    db.close().await.ok();
    row
}

async fn baseline_taken(database: &str) -> bool {
    let mut db = sqlx::PgConnection::connect(database).await.unwrap();
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM watch_baselines WHERE channel = $1")
        .bind(WATCH_CHANNEL as i64)
        .fetch_one(&mut db)
        .await
        .unwrap();
    db.close().await.ok();
    count == 1
}

async fn eventually<F: std::future::Future<Output = bool>>(
    wait: Duration,
    mut check: impl FnMut() -> F,
) -> bool {
    let started = Instant::now();
    while started.elapsed() < wait {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// Two replicas watching one channel: one polls and announces each transition once; killed,
/// the other takes over within two intervals and edits the message the first one posted.
#[tokio::test]
async fn the_watcher_runs_on_one_replica_and_another_takes_over_when_it_dies() {
    const INTERVAL: Duration = Duration::from_secs(10);
    let sim = start_sim(settings()).await;
    let discord = FakeDiscord::start().await;
    let database = common::postgres::database().await;
    let mut vars = replica_vars(&discord, &sim, &database);
    vars.insert("WSC_WATCH_CHANNEL_ID", WATCH_CHANNEL.to_string());
    vars.insert("WSC_WATCH_INTERVAL_SECS", INTERVAL.as_secs().to_string());
    let mut replicas: HashMap<u32, BotProcess> = (0..2)
        .map(|_| {
            let (process, _) = spawn_replica(&vars);
            (process.pid(), process)
        })
        .collect();
    let watch_path = format!("/api/v10/channels/{WATCH_CHANNEL}/messages");
    let posts = |discord: &FakeDiscord| -> Vec<RestCall> {
        discord.rest_calls().into_iter().filter(|c| c.method == "POST" && c.path == watch_path).collect()
    };

    // The baseline, by one of them; an hour on, the scheduled job starts (and others end).
    assert!(eventually(WAIT, || baseline_taken(&database)).await, "the baseline poll");
    let leader = watch_leader(&database).await.expect("a replica holds the watcher's lease");
    assert!(replicas.contains_key(&leader), "the lease is held by one of the two: {leader}");
    sim.advance(Duration::from_secs(3_610));
    let started = format!("wsc:v1:stop:{SCHEDULED}");
    let announced = discord
        .wait_for_call(|c| c.method == "POST" && custom_ids(&c.body).contains(&started), INTERVAL * 2)
        .await
        .expect("the scheduled job announced as started");
    let message_id: i64 = discord
        .messages()
        .into_iter()
        .find(|m| custom_ids(m).contains(&started))
        .and_then(|m| m["id"].as_str()?.parse().ok())
        .unwrap_or_else(|| panic!("the announcement is a message: {announced:?}"));
    // The announcement is saved at once; the replica that made it is killed once the poll that
    // announced has ended (the next one has begun), not between a post and its save: that is a
    // window no store closes (Discord took the post, the process died before recording it).
    let saved =
        || async { remembered(&database, SCHEDULED).await == Some(("running".to_owned(), Some(message_id))) };
    assert!(
        eventually(WAIT, saved).await,
        "the announcement is saved: {:?}",
        remembered(&database, SCHEDULED).await
    );
    let polls = sim.requests_for(Operation::List).len();
    let next_poll = || async { sim.requests_for(Operation::List).len() > polls };
    assert!(eventually(INTERVAL + Duration::from_secs(5), next_poll).await, "the next poll");
    assert_eq!(watch_leader(&database).await, Some(leader), "one replica polled throughout");
    let before_kill = posts(&discord);
    drop(replicas.remove(&leader)); // kill -9, by pid
    let killed = Instant::now();
    let survivor = *replicas.keys().next().unwrap();

    // The scan finishes while no one polls; the survivor takes over and edits its message.
    sim.advance(Duration::from_secs(3_600));
    let edit_path = format!("{watch_path}/{message_id}");
    let edit = discord
        .wait_for_call(
            |c| c.method == "PATCH" && c.path == edit_path && c.status < 300,
            Duration::from_secs(35),
        )
        .await
        .unwrap_or_else(|| {
            panic!("the survivor edited the job's message; calls: {:#?}", discord.rest_calls())
        });
    let took = killed.elapsed();
    assert!(took <= INTERVAL * 3 + Duration::from_secs(5), "taken over in {took:?}");
    let content = edit.body["content"].as_str().unwrap_or_default();
    assert!(content.contains("Scan finished"), "{content}");
    assert_eq!(watch_leader(&database).await, Some(survivor), "the survivor holds the lease now");

    // The sentinel: the survivor's next poll has begun, so the one that edited has ended.
    let polls = sim.requests_for(Operation::List).len();
    let next_poll = || async { sim.requests_for(Operation::List).len() > polls };
    assert!(eventually(INTERVAL + Duration::from_secs(5), next_poll).await, "the survivor polls on");
    let posted = posts(&discord);
    assert_eq!(posted.len(), before_kill.len(), "nothing posted anew after the takeover: {posted:#?}");
    for job in sim.jobs() {
        let job = format!("(job {})", job.instance_no);
        let told =
            posted.iter().filter(|c| c.body["content"].as_str().is_some_and(|t| t.contains(&job))).count();
        assert!(told <= 1, "{job} posted {told} times: {posted:#?}");
    }
    let edits: Vec<RestCall> = discord
        .rest_calls()
        .into_iter()
        .filter(|c| c.method == "PATCH" && c.path.starts_with(&watch_path))
        .collect();
    assert_eq!(edits.len(), 1, "one edit in all, the finished scan: {edits:#?}");
    drop(replicas);
    discord.assert_clean().await;
}
