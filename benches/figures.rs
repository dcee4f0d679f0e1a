//! `cargo bench --bench figures`: the figures of the README's performance table, measured on
//! loopback against the simulator and the fake Discord. Prints a Markdown table.

#[path = "../tests/common/mod.rs"]
mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::bot::{operator, start_bot, viewer};
use common::fake_discord::{slash_command, FakeDiscord, Member};
use common::serve::{now_secs, serve_vars, signature, signing_key};
use common::{settings, start_sim};
use serde_json::{json, Value};
use wsc_bot::wsc::sim::jobs::generated_seed;
use wsc_bot::wsc::sim::{Fault, SimHandle};
use wsc_bot::wsc::Operation;

/// Per measured round: p99 is then the tenth-slowest sample, not an outlier's neighbour.
const SAMPLES: usize = 1_000;

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    samples[((samples.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn row(what: &str, value: String) {
    println!("| {what} | {value} |");
}

/// Requests go in bursts of this many, back to back, each burst's interactions left to finish
/// before the next: the machine stays busy while measuring (an idle VM adds its own wake-up time,
/// measured apart), and serve mode stays within its limit of 256 in flight (beyond it the bot
/// answers 503 rather than queue).
const BURST: usize = 200;

/// Waits until a burst's interactions, each waiting `wsc_latency_ms` on WSC, have finished.
async fn settle(wsc_latency_ms: u64) {
    tokio::time::sleep(Duration::from_millis(wsc_latency_ms + 300)).await;
}

/// Gateway mode: dispatch of `/wsc jobs` to the acknowledgement reaching the fake Discord.
async fn gateway_ack(wsc_latency_ms: u64) -> (Duration, Duration) {
    let mut settings = settings();
    settings.faults = vec![(Operation::List, Fault { latency_ms: wsc_latency_ms, ..Fault::default() })];
    let bot = start_bot(settings, 30).await;
    bot.discord.waive_verdict(); // a measurement, not a test
    let mut samples = Vec::new();
    for _ in 0..SAMPLES / BURST {
        for _ in 0..BURST {
            let sent = Instant::now();
            let id = bot.command(&viewer(), "jobs", json!([])).await;
            let callback = bot.callback(id).await;
            samples.push(callback.at.duration_since(sent));
            // The fake's log is scanned on every wait: keep it short so the bench stays cheap.
            bot.discord.clear_rest_calls();
        }
        settle(wsc_latency_ms).await;
    }
    (percentile(&mut samples, 0.5), percentile(&mut samples, 0.99))
}

/// A child process that is killed when the bench ends, panicking or not.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A `wsc-bot serve` process against the simulator, as deployed; its base URL and start time.
fn serve_process(discord: &FakeDiscord, sim: &SimHandle) -> (Killed, String, Duration) {
    let mut vars = serve_vars(discord, sim);
    vars.insert("WSC_HTTP_LISTEN", "127.0.0.1:0".into());
    vars.insert("WSC_REQUEST_TIMEOUT_SECS", "30".into());
    vars.insert("RUST_LOG", "warn".into());
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_wsc-bot"))
        .arg("serve")
        .env_clear()
        .envs(vars)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let ready = started.elapsed();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap()
        .trim_end_matches("/interactions")
        .to_owned();
    (Killed(child), url, ready)
}

/// CPU time the process has used, user and system: a figure the host's scheduling noise does
/// not move.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name, which is in parentheses: utime and stime are 12th and 13th.
    let fields: Vec<&str> =
        stat.rsplit_once(')').map_or(vec![], |(_, rest)| rest.split_whitespace().collect());
    let ticks: u64 = fields.get(11..13).map_or(0, |f| f.iter().filter_map(|t| t.parse::<u64>().ok()).sum());
    Duration::from_millis(ticks * 10) // USER_HZ is 100 on Linux
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Delivers `interaction` signed to the endpoint; returns how long the inline answer took.
async fn post_signed(
    http: &reqwest::Client,
    discord: &FakeDiscord,
    server: &str,
    interaction: &Value,
) -> Duration {
    discord.deliver_inline(interaction);
    let body = interaction.to_string();
    let timestamp = now_secs().to_string();
    let signature = signature(&signing_key(), &timestamp, body.as_bytes());
    let sent = Instant::now();
    let response = http
        .post(format!("{server}/interactions"))
        .header("x-signature-ed25519", signature)
        .header("x-signature-timestamp", timestamp)
        .body(body)
        .send()
        .await
        .unwrap();
    let took = sent.elapsed();
    assert_eq!(response.status(), 200);
    answered(discord, interaction, response).await;
    took
}

/// Hands the endpoint's answer to the fake Discord, which takes it as the callback (only then do
/// the interaction's webhook calls work, as with Discord).
async fn answered(discord: &FakeDiscord, interaction: &Value, response: reqwest::Response) -> u16 {
    let status = response.status().as_u16();
    let answer: Value = response.json().await.unwrap_or(Value::Null);
    let id: u64 = interaction["id"].as_str().unwrap().parse().unwrap();
    discord.answered_inline(id, interaction["token"].as_str().unwrap(), status, &answer);
    status
}

fn jobs_command(id: u64, member: &Member) -> Value {
    let data =
        json!({"id": "1", "name": "wsc", "type": 1, "options": [{"name": "jobs", "type": 1, "options": []}]});
    slash_command(id, member, "en-US", data)
}

#[tokio::main]
async fn main() {
    println!(
        "| measure (loopback, {} cores) | result |",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("|---|---|");
    for latency in [0, 500, 5_000] {
        let (p50, p99) = gateway_ack(latency).await;
        row(
            &format!("gateway: time to acknowledge, WSC answering in {latency} ms (p50 / p99)"),
            format!("{} / {}", ms(p50), ms(p99)),
        );
    }

    let discord = FakeDiscord::start().await;
    discord.waive_verdict(); // a measurement, not a test
    let sim = start_sim(settings()).await;
    let (child, server, start_to_ready) = serve_process(&discord, &sim);
    let http = reqwest::Client::new();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let idle = rss_kib(child.0.id());
    let mut next_id = 1_000u64;
    // Warm up: the first interactions open the connections to WSC and Discord.
    for _ in 0..20 {
        next_id += 1;
        post_signed(&http, &discord, &server, &jobs_command(next_id, &viewer())).await;
    }
    for latency in [0, 500, 5_000] {
        sim.set_fault(Operation::List, Fault { latency_ms: latency, ..Fault::default() });
        let mut samples = Vec::new();
        for _ in 0..SAMPLES / BURST {
            for _ in 0..BURST {
                next_id += 1;
                samples.push(post_signed(&http, &discord, &server, &jobs_command(next_id, &viewer())).await);
            }
            settle(latency).await;
            discord.clear_rest_calls();
        }
        row(
            &format!(
                "serve: signed request to inline acknowledgement, WSC answering in {latency} ms (p50 / p99)"
            ),
            format!("{} / {}", ms(percentile(&mut samples, 0.5)), ms(percentile(&mut samples, 0.99))),
        );
    }
    sim.clear_faults();

    // One interaction at a time, each finished (its list edited in) before the next is sent, so
    // a sample measures the bot's own work, not the previous interaction's; each is paired with
    // the same client's round trip to `/healthz`, which does nothing, taken under the same
    // conditions just before. What the interaction takes beyond it is the bot's.
    let (mut alone, mut bare) = (Vec::new(), Vec::new());
    for _ in 0..SAMPLES {
        let sent = Instant::now();
        assert_eq!(http.get(format!("{server}/healthz")).send().await.unwrap().status(), 200);
        bare.push(sent.elapsed());
        next_id += 1;
        alone.push(post_signed(&http, &discord, &server, &jobs_command(next_id, &viewer())).await);
        let edited = format!("/token-{next_id}/messages/@original");
        discord
            .wait_for_call(|c| c.method == "PATCH" && c.path.ends_with(&edited), Duration::from_secs(10))
            .await;
        discord.clear_rest_calls();
    }
    let (p50, p99) = (percentile(&mut alone, 0.5), percentile(&mut alone, 0.99));
    let (bare50, bare99) = (percentile(&mut bare, 0.5), percentile(&mut bare, 0.99));
    row(
        "serve: signed request to inline acknowledgement, instant WSC, one at a time (p50 / p99)",
        format!("{} / {}", ms(p50), ms(p99)),
    );
    row(
        "serve: the same client's round trip to `/healthz`, alternating with those (p50 / p99)",
        format!("{} / {}", ms(bare50), ms(bare99)),
    );
    row(
        "serve: latency the bot adds (difference of the two, p50 / p99)",
        format!("{} / {}", ms(p50.saturating_sub(bare50)), ms(p99.saturating_sub(bare99))),
    );
    // The host's own wake-up cost: the same no-op round trip after 25 ms of idleness.
    let mut idle_trips = Vec::new();
    for _ in 0..BURST {
        tokio::time::sleep(Duration::from_millis(25)).await;
        let sent = Instant::now();
        assert_eq!(http.get(format!("{server}/healthz")).send().await.unwrap().status(), 200);
        idle_trips.push(sent.elapsed());
    }
    row(
        "host: `/healthz` round trip after 25 ms idle, no bot work (p50 / p99)",
        format!("{} / {}", ms(percentile(&mut idle_trips, 0.5)), ms(percentile(&mut idle_trips, 0.99))),
    );

    let started = Instant::now();
    let cpu_before = cpu_time(child.0.id());
    let mut handles = Vec::new();
    let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let pid = child.0.id();
    let sampler = {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                peak.fetch_max(rss_kib(pid), std::sync::atomic::Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    for i in 0..2_000u64 {
        let (http, server, discord) = (http.clone(), server.clone(), discord.clone());
        let interaction = jobs_command(100_000 + i, &operator());
        discord.deliver_inline(&interaction);
        handles.push(tokio::spawn(async move {
            let body = interaction.to_string();
            let timestamp = now_secs().to_string();
            let signature = signature(&signing_key(), &timestamp, body.as_bytes());
            let response = http
                .post(format!("{server}/interactions"))
                .header("x-signature-ed25519", signature)
                .header("x-signature-timestamp", timestamp)
                .body(body)
                .send()
                .await;
            match response {
                Ok(response) => answered(&discord, &interaction, response).await,
                Err(_) => 0,
            }
        }));
        if handles.len() % 100 == 0 {
            // 100 concurrent interactions at a time.
            for handle in handles.drain(..) {
                assert_eq!(handle.await.unwrap(), 200);
            }
        }
    }
    let rate = 2_000.0 / started.elapsed().as_secs_f64();
    sampler.abort();
    // Wait for the last background work (WSC calls, edits) before reading the CPU time.
    let all_edited = |d: &FakeDiscord| d.rest_calls().iter().filter(|c| c.method == "PATCH").count() >= 2_000;
    assert!(discord.wait_until(all_edited, Duration::from_secs(60)).await);
    let cpu_per_interaction = cpu_time(child.0.id()).saturating_sub(cpu_before) / 2_000;
    row("serve: throughput, 100 concurrent signed `/wsc jobs`", format!("{rate:.0} interactions/s"));
    row(
        "serve: CPU time per `/wsc jobs`, whole interaction (verify, answer, WSC call, edit)",
        ms(cpu_per_interaction),
    );
    row(
        "serve: resident memory idle / peak under 100 concurrent interactions",
        format!(
            "{:.1} MB / {:.1} MB",
            idle as f64 / 1024.0,
            peak.load(std::sync::atomic::Ordering::Relaxed) as f64 / 1024.0
        ),
    );
    row("serve: process start to listening", ms(start_to_ready));
    drop(child);

    let mut settings = settings();
    settings.seed.extend(generated_seed(10_000, 2_000_000_000));
    let bot = start_bot(settings, 10).await;
    bot.discord.waive_verdict(); // a measurement, not a test
    bot.autocomplete(&operator(), "stop", "").await; // fills the cache
    let mut samples = Vec::new();
    for i in 0..SAMPLES {
        let sent = Instant::now();
        bot.autocomplete(&operator(), "stop", &format!("host{}", 9_000 + i)).await;
        samples.push(sent.elapsed());
    }
    row(
        "autocomplete with 10,000 jobs, dispatch to answer (p50 / p99)",
        format!("{} / {}", ms(percentile(&mut samples, 0.5)), ms(percentile(&mut samples, 0.99))),
    );
    let binary = std::path::Path::new(env!("CARGO_BIN_EXE_wsc-bot"));
    let size = std::fs::metadata(binary).map(|m| m.len()).unwrap_or(0);
    row("release binary size (stripped, thin LTO)", format!("{:.1} MB", size as f64 / 1_048_576.0));
    std::process::exit(0);
}
