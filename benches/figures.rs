//! `cargo bench --bench figures`: the figures of the README's performance table, measured on
//! loopback against the simulator and the fake Discord. Prints a Markdown table.

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::bot::{operator, start_bot, viewer};
use common::fake_discord::{slash_command, FakeDiscord, Member, APPLICATION_ID};
use common::settings;
use ed25519_dalek::{Signer, SigningKey};
use serde_json::{json, Value};
use wsc_bot::wsc::sim::jobs::generated_seed;
use wsc_bot::wsc::sim::Fault;
use wsc_bot::wsc::Operation;

const SAMPLES: usize = 200;

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

/// Gateway mode: dispatch of `/wsc jobs` to the acknowledgement reaching the fake Discord.
async fn gateway_ack(wsc_latency_ms: u64) -> (Duration, Duration) {
    let mut settings = settings();
    settings.faults = vec![(Operation::List, Fault { latency_ms: wsc_latency_ms, ..Fault::default() })];
    let bot = start_bot(settings, 30).await;
    let mut samples = Vec::new();
    for _ in 0..SAMPLES {
        let sent = Instant::now();
        let id = bot.command(&viewer(), "jobs", json!([])).await;
        let callback = bot.callback(id).await;
        samples.push(callback.at.duration_since(sent));
    }
    (percentile(&mut samples, 0.5), percentile(&mut samples, 0.99))
}

fn signing_key() -> SigningKey {
    SigningKey::from_bytes(&[7; 32])
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A `wsc-bot serve --demo` process and its base URL.
fn serve_demo(discord: &FakeDiscord) -> (std::process::Child, String, Duration) {
    let vars: HashMap<&str, String> = HashMap::from([
        ("DISCORD_API_BASE", discord.api_base()),
        ("DISCORD_APPLICATION_ID", APPLICATION_ID.to_string()),
        ("DISCORD_PUBLIC_KEY", hex(&signing_key().verifying_key().to_bytes())),
        ("WSC_HTTP_LISTEN", "127.0.0.1:0".into()),
        ("RUST_LOG", "warn".into()),
    ]);
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_wsc-bot"))
        .args(["serve", "--demo"])
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
    (child, url, ready)
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

async fn post_signed(
    http: &reqwest::Client,
    discord: &FakeDiscord,
    server: &str,
    interaction: &Value,
) -> Duration {
    discord.deliver_inline(interaction);
    let body = interaction.to_string();
    let timestamp = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs().to_string();
    let mut message = timestamp.as_bytes().to_vec();
    message.extend_from_slice(body.as_bytes());
    let signature = hex(&signing_key().sign(&message).to_bytes());
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
    took
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
    let (mut child, server, start_to_ready) = serve_demo(&discord);
    let http = reqwest::Client::new();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let idle = rss_kib(child.id());
    let mut samples = Vec::new();
    for i in 0..SAMPLES as u64 {
        samples.push(post_signed(&http, &discord, &server, &jobs_command(1_000 + i, &viewer())).await);
    }
    let (p50, p99) = (percentile(&mut samples, 0.5), percentile(&mut samples, 0.99));
    row(
        "serve: signed request to inline acknowledgement, instant WSC (p50 / p99)",
        format!("{} / {}", ms(p50), ms(p99)),
    );
    // The same client's round trip to an endpoint that does nothing: what is left is the bot's.
    let mut bare = Vec::new();
    for _ in 0..SAMPLES {
        let sent = Instant::now();
        assert_eq!(http.get(format!("{server}/healthz")).send().await.unwrap().status(), 200);
        bare.push(sent.elapsed());
    }
    let (bare50, bare99) = (percentile(&mut bare, 0.5), percentile(&mut bare, 0.99));
    row(
        "serve: the same client's round trip to `/healthz` (p50 / p99)",
        format!("{} / {}", ms(bare50), ms(bare99)),
    );
    row(
        "serve: latency the bot adds (difference of the two, p50 / p99)",
        format!("{} / {}", ms(p50.saturating_sub(bare50)), ms(p99.saturating_sub(bare99))),
    );

    let started = Instant::now();
    let mut handles = Vec::new();
    let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let pid = child.id();
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
        let (http, server) = (http.clone(), server.clone());
        let interaction = jobs_command(10_000 + i, &operator());
        discord.deliver_inline(&interaction);
        handles.push(tokio::spawn(async move {
            let body = interaction.to_string();
            let timestamp = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs().to_string();
            let mut message = timestamp.as_bytes().to_vec();
            message.extend_from_slice(body.as_bytes());
            let signature = hex(&signing_key().sign(&message).to_bytes());
            http.post(format!("{server}/interactions"))
                .header("x-signature-ed25519", signature)
                .header("x-signature-timestamp", timestamp)
                .body(body)
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0)
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
    row("serve: throughput, 100 concurrent signed `/wsc jobs`", format!("{rate:.0} interactions/s"));
    row(
        "serve --demo: resident memory idle / peak under 100 concurrent interactions",
        format!(
            "{:.1} MB / {:.1} MB",
            idle as f64 / 1024.0,
            peak.load(std::sync::atomic::Ordering::Relaxed) as f64 / 1024.0
        ),
    );
    row("serve --demo: process start to listening", ms(start_to_ready));
    let _ = child.kill();
    let _ = child.wait();

    let mut settings = settings();
    settings.seed.extend(generated_seed(10_000, 2_000_000_000));
    let bot = start_bot(settings, 10).await;
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
