//! Serve mode: the Interactions Endpoint with real Ed25519 signatures, the same core as the
//! gateway, edits and follow-ups over serenity's HTTP client to the fake Discord.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use common::bot::{
    custom_ids, instance_arg, is_ephemeral, operator, start_process_in, stranger, viewer, Front,
};
use common::fake_discord::{component_click, slash_command, FakeDiscord, Member, APPLICATION_ID, CHANNEL_ID};
use common::process::BotProcess;
use common::serve::{
    now_secs, post, post_unjudged, serve_vars, signature, signed_post, signing_key, start_serve_with,
};
use common::{settings, start_sim};
use ed25519_dalek::SigningKey;
use serde_json::{json, Value};
use wsc_bot::wsc::sim::{Fault, Phase, SimHandle};
use wsc_bot::wsc::Operation;

const SCANNING: u64 = 1000000006;
const WAIT: Duration = Duration::from_secs(10);
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn vars(discord: &FakeDiscord, sim: &SimHandle) -> HashMap<&'static str, String> {
    let mut vars = serve_vars(discord, sim);
    vars.insert("WSC_REQUEST_TIMEOUT_SECS", "5".to_owned());
    vars
}

/// One serve instance in this process; returns its base URL.
async fn start_serve(discord: &FakeDiscord, sim: &SimHandle) -> String {
    start_serve_with(&vars(discord, sim)).await.0
}

fn command(member: &Member, sub: &str, options: Value) -> Value {
    let id = NEXT_ID.fetch_add(1, Ordering::SeqCst);
    let data = json!({"id": "1", "name": "wsc", "type": 1, "options": [{"name": sub, "type": 1, "options": options}]});
    slash_command(id, member, "en-US", data)
}

/// `/wsc stop <instance>` by the operator.
fn stop_command(instance: u64) -> Value {
    command(&operator(), "stop", instance_arg(instance))
}

fn click(member: &Member, custom_id: &str, message: Value) -> Value {
    component_click(NEXT_ID.fetch_add(1, Ordering::SeqCst), member, "en-US", custom_id, message)
}

async fn original(discord: &FakeDiscord, interaction: &Value) -> Value {
    let token = interaction["token"].as_str().unwrap();
    discord.final_original(token, WAIT).await.expect("the interaction's answer")
}

#[tokio::test]
async fn forged_missing_malformed_and_stale_signatures_get_401_and_no_wsc_call() {
    let sim = start_sim(settings()).await;
    let discord = FakeDiscord::start().await;
    let server = start_serve(&discord, &sim).await;
    let http = reqwest::Client::new();
    let body = stop_command(SCANNING).to_string();
    let fresh = now_secs().to_string();
    let good = signature(&signing_key(), &fresh, body.as_bytes());
    let stranger_key = SigningKey::from_bytes(&[9; 32]);
    let stale = (now_secs() - 301).to_string();
    let cases: Vec<(&str, Option<String>, Option<String>, String)> = vec![
        ("missing both", None, None, body.clone()),
        ("missing signature", None, Some(fresh.clone()), body.clone()),
        ("missing timestamp", Some(good.clone()), None, body.clone()),
        (
            "other key",
            Some(signature(&stranger_key, &fresh, body.as_bytes())),
            Some(fresh.clone()),
            body.clone(),
        ),
        ("body changed", Some(good.clone()), Some(fresh.clone()), body.replace("stop", "stoq")),
        ("timestamp changed", Some(good.clone()), Some((now_secs() + 1).to_string()), body.clone()),
        ("not hex", Some("zz".repeat(64)), Some(fresh.clone()), body.clone()),
        ("short", Some(good[..64].to_owned()), Some(fresh.clone()), body.clone()),
        (
            "stale",
            Some(signature(&signing_key(), &stale, body.as_bytes())),
            Some(stale.clone()),
            body.clone(),
        ),
        ("timestamp not a number", Some(good.clone()), Some("yesterday".into()), body.clone()),
    ];
    for (what, sig, ts, body) in cases {
        let mut request = http.post(format!("{server}/interactions")).body(body);
        if let Some(sig) = sig {
            request = request.header("x-signature-ed25519", sig);
        }
        if let Some(ts) = ts {
            request = request.header("x-signature-timestamp", ts);
        }
        assert_eq!(request.send().await.unwrap().status(), 401, "{what}");
    }
    for _ in 0..10_000 {
        let forged: String = (0..64).map(|_| format!("{:02x}", fastrand::u8(..))).collect();
        let response = http
            .post(format!("{server}/interactions"))
            .header("x-signature-ed25519", forged)
            .header("x-signature-timestamp", &fresh)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
    }
    let huge = http.post(format!("{server}/interactions")).body(vec![b'x'; 200_000]).send().await.unwrap();
    assert_eq!(huge.status(), 413, "request bodies are bounded");
    assert!(sim.requests().is_empty(), "nothing reached WSC");
    assert!(discord.rest_calls().is_empty(), "nothing reached Discord");
    discord.assert_clean().await;
}

#[tokio::test]
async fn ping_gets_pong_and_health_answers() {
    let sim = start_sim(settings()).await;
    let discord = FakeDiscord::start().await;
    let server = start_serve(&discord, &sim).await;
    let (status, answer) = post(&discord, &server, &json!({"id": "1", "type": 1, "application_id": APPLICATION_ID.to_string(), "token": "t", "version": 1})).await;
    assert_eq!((status, answer), (200, json!({"type": 1})));
    let health = reqwest::get(format!("{server}/healthz")).await.unwrap();
    assert_eq!(health.status(), 200);
    discord.assert_clean().await;
}

#[tokio::test]
async fn the_bots_flows_run_through_serve_mode() {
    let sim = start_sim(settings()).await;
    let discord = FakeDiscord::start().await;
    let server = start_serve(&discord, &sim).await;

    let list = command(&viewer(), "jobs", json!([]));
    let (status, answer) = post(&discord, &server, &list).await;
    assert_eq!((status, answer["type"].as_u64()), (200, Some(5)), "deferred inline");
    let jobs = original(&discord, &list).await;
    assert_eq!(jobs["embeds"].as_array().unwrap().len(), 5);

    let ask = click(&operator(), &format!("wsc:v1:stop:{SCANNING}"), jobs.clone());
    let (_, answer) = post(&discord, &server, &ask).await;
    assert_eq!(answer["type"], 5);
    assert!(is_ephemeral(&answer["data"]));
    let confirmation = original(&discord, &ask).await;
    let confirm_id = custom_ids(&confirmation)[0].clone();

    let confirm = click(&operator(), &confirm_id, confirmation);
    let (_, answer) = post(&discord, &server, &confirm).await;
    assert_eq!(answer["type"], 7);
    let token = confirm["token"].as_str().unwrap().to_owned();
    let followup = format!("/api/v10/webhooks/{APPLICATION_ID}/{token}");
    let outcome = discord
        .wait_for_call(|c| c.method == "POST" && c.path == followup, WAIT)
        .await
        .expect("public outcome");
    assert!(outcome.body["content"].as_str().unwrap().contains("stopped the scan of"));
    assert_eq!(sim.requests_for(Operation::Stop).len(), 1);
    let jobs_id = jobs["id"].as_str().unwrap();
    let edit = format!("/api/v10/channels/{CHANNEL_ID}/messages/{jobs_id}");
    discord
        .wait_for_call(|c| c.method == "PATCH" && c.path == edit, WAIT)
        .await
        .expect("jobs message refreshed");

    let denied =
        command(&stranger(), "stop", json!([{"name": "instance_id", "type": 3, "value": "1000000007"}]));
    let (_, answer) = post(&discord, &server, &denied).await;
    assert_eq!(answer["type"], 4);
    assert!(answer["data"]["content"].as_str().unwrap().contains("You need"));
    let bad = command(&operator(), "stop", json!([{"name": "instance_id", "type": 3, "value": "1/../2"}]));
    let (_, answer) = post(&discord, &server, &bad).await;
    assert!(answer["data"]["content"].as_str().unwrap().contains("is not a job number"));
    assert_eq!(sim.requests_for(Operation::Stop).len(), 1, "no further stop");
    assert_eq!(sim.phase(1000000007), Some(Phase::Crawling));
    discord.assert_clean().await;
}

#[tokio::test]
async fn two_replicas_serve_any_click() {
    let sim = start_sim(settings()).await;
    let discord = FakeDiscord::start().await;
    let first = start_serve(&discord, &sim).await;
    let second = start_serve(&discord, &sim).await;
    let ask = stop_command(SCANNING);
    post(&discord, &first, &ask).await;
    let confirmation = original(&discord, &ask).await;
    let confirm = click(&operator(), &format!("wsc:v1:confirm-stop:{SCANNING}"), confirmation);
    let (status, answer) = post(&discord, &second, &confirm).await;
    assert_eq!((status, answer["type"].as_u64()), (200, Some(7)));
    let token = confirm["token"].as_str().unwrap().to_owned();
    let followup = format!("/api/v10/webhooks/{APPLICATION_ID}/{token}");
    discord.wait_for_call(|c| c.path == followup, WAIT).await.expect("the second replica finished the stop");
    assert_eq!(sim.requests_for(Operation::Stop).len(), 1);
    discord.assert_clean().await;
}

fn counter(metrics: &str, series: &str) -> f64 {
    metrics
        .lines()
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

/// Metrics and readiness are process-wide: the endpoint runs as its own process, so every count
/// below is this test's and nothing else's.
#[tokio::test]
async fn metrics_move_as_interactions_happen() {
    let sim = start_sim(settings()).await;
    let discord = FakeDiscord::start().await;
    let mut vars = vars(&discord, &sim);
    vars.insert("WSC_HTTP_LISTEN", "127.0.0.1:0".into());
    let process = BotProcess::spawn(&["serve"], &vars);
    let server = process.next_url();
    let http = reqwest::Client::new();
    let get = |path: &'static str| {
        let (http, url) = (http.clone(), format!("{server}{path}"));
        async move {
            let response = http.get(url).send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    assert_eq!(get("/healthz").await.0, 200);
    assert_eq!(get("/readyz").await, (200, "ready\n".to_owned()), "the endpoint is listening");
    let (_, before) = get("/metrics").await;
    let list = command(&viewer(), "jobs", json!([]));
    post(&discord, &server, &list).await;
    original(&discord, &list).await;
    let denied = command(&stranger(), "jobs", json!([]));
    post(&discord, &server, &denied).await;
    // An interaction is counted once it is finished, just after its last call to Discord.
    let series = [
        (r#"wsc_bot_interactions_total{kind="command",outcome="ok"}"#, 1.0),
        (r#"wsc_bot_interactions_total{kind="command",outcome="denied"}"#, 1.0),
        (r#"wsc_bot_wsc_calls_total{operation="getJobs",result="ok"}"#, 1.0),
        ("wsc_bot_ack_latency_seconds_count", 2.0),
    ];
    let moved = |after: &str| -> Vec<f64> {
        series.iter().map(|(name, _)| counter(after, name) - counter(&before, name)).collect()
    };
    let expected: Vec<f64> = series.iter().map(|(_, n)| *n).collect();
    let mut after = String::new();
    for _ in 0..100 {
        after = get("/metrics").await.1;
        if moved(&after) == expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(moved(&after), expected, "{series:?}\n{after}");
    assert!(after.contains("wsc_bot_wsc_call_duration_seconds_bucket"));
    discord.assert_clean().await;
}

#[tokio::test]
async fn demo_mode_starts_without_ncp_variables() {
    let sim = start_sim(settings()).await;
    let discord = FakeDiscord::start().await;
    let mut vars = vars(&discord, &sim);
    for ncp in ["NCP_ACCESS_KEY", "NCP_SECRET_KEY", "WSC_API_BASE"] {
        vars.remove(ncp);
    }
    vars.insert("WSC_HTTP_LISTEN", "127.0.0.1:0".into());
    let process = BotProcess::spawn(&["serve", "--demo"], &vars);
    let server = process.next_url();
    let list = command(&viewer(), "jobs", json!([]));
    let (status, _) = post(&discord, &server, &list).await;
    assert_eq!(status, 200);
    let jobs = original(&discord, &list).await;
    let footer = jobs["embeds"][0]["footer"]["text"].as_str().unwrap().to_owned();
    assert!(footer.contains("DEMO"), "{footer}");
    assert!(sim.requests().is_empty(), "the demo never calls a real WSC");
    drop(process);
    discord.assert_clean().await;
}

fn metric(metrics: &str, series: &str) -> Option<f64> {
    metrics.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test]
async fn readiness_stays_200_while_wsc_is_unreachable_and_the_metric_says_so() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let extra = [("WSC_API_BASE", format!("http://{dead}"))];
    let (bot, process) =
        start_process_in(Front::Serve, FakeDiscord::start().await, settings(), 2, &extra).await;
    let server = bot.endpoint.clone().unwrap();
    let get = |path: &'static str| {
        let url = format!("{server}{path}");
        async move {
            let response = reqwest::get(url).await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    let id = bot.command(&viewer(), "jobs", json!([])).await;
    let edited = format!("/token-{id}/messages/@original");
    let edit = bot.call("the edit", |c| c.method == "PATCH" && c.path.ends_with(&edited)).await;
    let sentence = edit.body["content"].as_str().unwrap_or_default();
    assert!(sentence.contains("(ref `"), "people get the bot's own sentence: {sentence}");
    assert_eq!(get("/readyz").await, (200, "ready\n".to_owned()), "{}", process.log());
    let (_, metrics) = get("/metrics").await;
    assert_eq!(metric(&metrics, "wsc_bot_wsc_reachable"), Some(0.0), "{metrics}");
    bot.finish().await;
}

#[tokio::test]
async fn a_signed_body_that_does_not_decode_gets_400_a_log_line_and_a_count_without_the_token() {
    let (bot, process) = start_process_in(Front::Serve, FakeDiscord::start().await, settings(), 5, &[]).await;
    let server = bot.endpoint.clone().unwrap();
    let token = "tok-aW50ZXJhY3Rpb24tdG9rZW4tbmV2ZXItbG9nZ2Vk";
    // serde's own message for this one quotes the token: "invalid type: string \"tok-…\"".
    let wrong_shape = json!({"type": 2, "id": "4242", "application_id": APPLICATION_ID.to_string(),
        "token": token, "version": 1, "data": token})
    .to_string();
    let cut_short = format!(r#"{{"type":2,"id":"4343","token":"{token}""#);
    for body in [wrong_shape, cut_short] {
        let response = signed_post(&server, &body, &now_secs().to_string()).send().await.unwrap();
        assert_eq!(response.status(), 400, "{body}");
    }
    let metrics = reqwest::get(format!("{server}/metrics")).await.unwrap().text().await.unwrap();
    let series = r#"wsc_bot_interactions_refused_total{reason="undecodable"}"#;
    assert_eq!(metric(&metrics, series), Some(2.0), "{metrics}");
    let logged = async {
        while !(process.log().contains("does not decode") && process.log().contains("is not JSON")) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(WAIT, logged).await.unwrap_or_else(|_| panic!("no log line: {}", process.log()));
    let log = process.log();
    let line = log.lines().find(|l| l.contains("does not decode")).unwrap();
    assert!(line.contains("4242") && line.contains("invalid type"), "{line}");
    assert!(!log.contains(token) && !log.contains("aW50ZXJhY3Rpb24"), "the token leaked: {log}");
    bot.finish().await;
}

#[tokio::test]
async fn a_replayed_signed_request_acts_once_and_the_repeat_gets_409() {
    let sim = start_sim(settings()).await;
    let discord = FakeDiscord::start().await;
    let server = start_serve(&discord, &sim).await;
    let ask = stop_command(SCANNING);
    post(&discord, &server, &ask).await;
    let confirmation = original(&discord, &ask).await;
    let confirm = click(&operator(), &format!("wsc:v1:confirm-stop:{SCANNING}"), confirmation);
    let (body, timestamp) = (confirm.to_string(), now_secs().to_string());
    let token = confirm["token"].as_str().unwrap().to_owned();
    let id: u64 = confirm["id"].as_str().unwrap().parse().unwrap();

    discord.deliver_inline(&confirm);
    let first = signed_post(&server, &body, &timestamp).send().await.unwrap();
    assert_eq!(first.status(), 200);
    let answer: Value = first.json().await.unwrap();
    assert_eq!(discord.answered_inline(id, &token, 200, &answer), 204);
    let followup = format!("/api/v10/webhooks/{APPLICATION_ID}/{token}");
    discord.wait_for_call(|c| c.method == "POST" && c.path == followup, WAIT).await.expect("the outcome");
    discord.audit_line("done", SCANNING, WAIT).await.expect("the audit line, the last thing done");
    let (wsc_calls, discord_calls) = (sim.requests().len(), discord.rest_calls().len());

    // The same bytes, the same signature, well within the 5 minutes a signature is good for.
    for _ in 0..3 {
        let replay = signed_post(&server, &body, &timestamp).send().await.unwrap();
        assert_eq!(
            replay.status(),
            409,
            "a repeat is refused, with no answer Discord could take as a callback"
        );
        assert_eq!(replay.text().await.unwrap(), "already received\n");
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sim.requests().len(), wsc_calls, "WSC saw nothing of the replays");
    assert_eq!(discord.rest_calls().len(), discord_calls, "and neither did Discord");
    assert_eq!(sim.requests_for(Operation::Stop).len(), 1);
    discord.assert_clean().await;
}

#[tokio::test]
async fn sighup_makes_serve_read_the_rotated_key_files() {
    use common::secrets::{ROTATED_ACCESS_KEY, ROTATED_SECRET_KEY};
    use common::KeyFiles;
    let sim = start_sim(settings()).await;
    let discord = FakeDiscord::start().await;
    let files = KeyFiles::new("sighup");
    let mut vars = vars(&discord, &sim);
    vars.remove("NCP_ACCESS_KEY");
    vars.remove("NCP_SECRET_KEY");
    vars.extend(files.vars());
    vars.insert("WSC_HTTP_LISTEN", "127.0.0.1:0".into());
    let mut process = BotProcess::spawn(&["serve"], &vars);
    let server = process.next_url();
    let list = command(&viewer(), "jobs", json!([]));
    post(&discord, &server, &list).await;
    assert_eq!(original(&discord, &list).await["embeds"].as_array().unwrap().len(), 5);

    // The key is rotated at NCP and in the files, then the process is told.
    sim.set_keys(ROTATED_ACCESS_KEY, ROTATED_SECRET_KEY);
    files.write(ROTATED_ACCESS_KEY, ROTATED_SECRET_KEY);
    process.signal("HUP");
    let changed = r#"wsc_bot_ncp_key_reloads_total{result="changed"}"#;
    let read_again = async {
        loop {
            let metrics = reqwest::get(format!("{server}/metrics")).await.unwrap().text().await.unwrap();
            if counter(&metrics, changed) >= 1.0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(WAIT, read_again).await.expect("the key files were read again on SIGHUP");

    sim.clear_requests();
    // Page 2: the first page is fresh, and would be shown without asking WSC.
    let list = command(&viewer(), "jobs", json!([{"name": "page", "type": 4, "value": 2}]));
    post(&discord, &server, &list).await;
    assert_eq!(original(&discord, &list).await["embeds"].as_array().unwrap().len(), 3);
    let requests = sim.requests();
    assert!(!requests.is_empty());
    assert!(
        requests.iter().all(|r| r.signature_valid),
        "signed with the new key from the first call, no refusal needed: {requests:#?}"
    );
    assert!(process.is_running(), "SIGHUP did not end the process");
    discord.assert_clean().await;
}

/// One instance makes one WSC call for two confirms at once; two replicas know nothing of each
/// other's confirms, so both may reach WSC. WSC refuses the second (the job no longer runs): the
/// job is stopped once, the team told once, and the second person told what state it is in.
#[tokio::test]
async fn two_confirms_on_two_replicas_at_once_stop_once_and_tell_the_team_once() {
    let mut settings = settings();
    settings.faults = vec![(Operation::Stop, Fault { latency_ms: 1_000, ..Fault::default() })];
    let sim = start_sim(settings).await;
    let discord = FakeDiscord::start().await;
    let replicas = [start_serve(&discord, &sim).await, start_serve(&discord, &sim).await];
    let second = Member { user_id: 800000000000000004, username: "second".into(), roles: operator().roles };
    let mut confirms = Vec::new();
    for (member, replica) in [operator(), second].iter().zip(&replicas) {
        let ask = command(member, "stop", instance_arg(SCANNING));
        post(&discord, replica, &ask).await;
        let confirmation = original(&discord, &ask).await;
        confirms.push(click(member, &custom_ids(&confirmation)[0], confirmation));
    }
    let (a, b) =
        tokio::join!(post(&discord, &replicas[0], &confirms[0]), post(&discord, &replicas[1], &confirms[1]));
    assert_eq!((a.0, a.1["type"].as_u64(), b.0, b.1["type"].as_u64()), (200, Some(7), 200, Some(7)));
    let mut texts = Vec::new();
    for confirm in &confirms {
        texts.push(original(&discord, confirm).await["content"].as_str().unwrap().to_owned());
    }
    texts.sort();
    assert!(
        texts[0].starts_with("Nothing to stop") && texts[1].contains("Stop requested"),
        "one stopped it, the other is told it no longer runs: {texts:?}"
    );
    assert_eq!(sim.phase(SCANNING), Some(Phase::Stopping));
    assert_eq!(sim.requests_for(Operation::Stop).len(), 2, "both replicas asked WSC; WSC refused one");
    let audit = |outcome: &'static str| {
        let line = format!("**{outcome}** job {SCANNING}");
        let discord = discord.clone();
        async move {
            discord
                .wait_for_call(|c| c.body["content"].as_str().is_some_and(|t| t.contains(&line)), WAIT)
                .await
                .unwrap_or_else(|| panic!("no audit line {line}"))
        }
    };
    audit("done").await;
    audit("not_applicable").await;
    // The sentinel: the next interaction served in full; then the team has been told once.
    let list = command(&viewer(), "jobs", json!([]));
    post(&discord, &replicas[0], &list).await;
    original(&discord, &list).await;
    let told: usize = confirms.iter().map(|c| discord.followups(c["token"].as_str().unwrap()).len()).sum();
    assert_eq!(told, 1, "the team is told once");
    discord.assert_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beyond_256_interactions_in_flight_the_endpoint_answers_503_then_recovers() {
    let mut settings = settings();
    // Long enough for all 256 deferrals to be in while every one of them still waits on WSC,
    // on a loaded 2-core machine too (each admission is a write to the store).
    settings.faults = vec![(Operation::List, Fault { latency_ms: 20_000, ..Fault::default() })];
    let sim = start_sim(settings).await;
    let discord = FakeDiscord::start().await;
    let mut vars = vars(&discord, &sim);
    vars.insert("WSC_REQUEST_TIMEOUT_SECS", "30".to_owned());
    let server = start_serve_with(&vars).await.0;
    let lists: Vec<Value> = (0..256).map(|_| command(&viewer(), "jobs", json!([]))).collect();
    // In waves, as Discord's deliveries would come, rather than one burst from this one client.
    for wave in lists.chunks(32) {
        let answers = futures_util::future::join_all(wave.iter().map(|l| post(&discord, &server, l))).await;
        assert!(answers.iter().all(|(status, answer)| *status == 200 && answer["type"] == 5), "deferred");
    }
    // Every one is still waiting on WSC: the next is refused at once rather than queued.
    let (status, answer) = post_unjudged(&server, &command(&viewer(), "jobs", json!([]))).await;
    assert_eq!((status, answer), (503, json!("busy\n")));
    // Once WSC answers, all 256 get their list and the endpoint takes interactions again.
    let first = format!("/{}/messages/@original", lists[0]["token"].as_str().unwrap());
    let answered = |c: &common::fake_discord::RestCall| c.method == "PATCH" && c.path.ends_with(&first);
    discord.wait_for_call(answered, Duration::from_secs(40)).await.expect("WSC answered the first list");
    for list in &lists {
        assert_eq!(original(&discord, list).await["embeds"].as_array().unwrap().len(), 5);
    }
    sim.clear_faults();
    let next = command(&viewer(), "jobs", json!([]));
    assert_eq!(post(&discord, &server, &next).await.0, 200);
    original(&discord, &next).await;
    discord.assert_clean().await;
}

#[tokio::test]
async fn register_overwrites_the_guild_commands_and_exits_0() {
    use common::fake_discord::GUILD_ID;
    let sim = start_sim(settings()).await;
    let discord = FakeDiscord::start().await;
    let mut vars = vars(&discord, &sim);
    vars.insert("DISCORD_GUILD_ID", GUILD_ID.to_string());
    for _ in 0..2 {
        let vars = vars.clone();
        let output = tokio::task::spawn_blocking(move || {
            common::process::command(&["register"], vars.iter().map(|(k, v)| (*k, v.as_str())))
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(output.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
        assert_eq!(stdout, format!("Registered 1 command(s) in guild(s) {GUILD_ID}.\n"));
    }
    let commands = discord.commands(Some(GUILD_ID));
    assert_eq!(commands.len(), 1, "overwritten, not added: {commands:#?}");
    assert_eq!(commands[0]["name"], "wsc");
    let puts = discord.rest_calls().into_iter().filter(|c| c.method == "PUT").count();
    assert_eq!(puts, 2);
    discord.assert_clean().await;
}
