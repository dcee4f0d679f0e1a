//! `cargo bench --bench figures -- --runs 3 [--only store,replicas]`: the figures of the README's performance table,
//! measured on loopback against the simulator and the fake Discord, `--runs` times (or
//! `BENCH_RUNS` times; 3 when neither is given). Each run starts every process afresh and
//! measures the same way; the bench prints each run's figures to stderr and then one Markdown
//! table: per row the median over the runs, the spread (min–max over the runs) and the goal,
//! met only when every run met it.
//!
//! The bot runs as its own process in both front ends, the real `wsc-bot run` or `wsc-bot
//! serve`; the simulator and the fake Discord run in the bench's process.

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::bot::{operator, start_process_in, viewer, Bot, Front};
use common::fake_discord::{slash_command, FakeDiscord, Member, RestCall};
use common::process::BotProcess;
use common::serve::{now_secs, serve_vars, signature, signing_key};
use common::{settings, start_sim};
use serde_json::{json, Value};
use wsc_bot::wsc::sim::jobs::generated_seed;
use wsc_bot::wsc::sim::{Fault, SimHandle, SimSettings};
use wsc_bot::wsc::Operation;

/// Per measured round: p99 is then the tenth-slowest sample, not an outlier's neighbour.
const SAMPLES: usize = 1_000;

/// Requests go in bursts of this many, back to back, each burst's interactions finished (every
/// one's @original edited) before the next: the machine stays busy while measuring (an idle VM
/// adds its own wake-up time, measured apart), and serve mode stays within its limit of 256 in
/// flight (beyond it the bot answers 503 rather than queue).
const BURST: usize = 200;

/// Interactions sent, each finished before the next, before anything is measured: they open the
/// connections to WSC and Discord.
const WARM_UP: usize = 20;

/// The open-loop row: requests sent on a fixed schedule, whatever the answers.
const OPEN_LOOP_RATE: u32 = 200;
const OPEN_LOOP_SECS: u32 = 5;

/// The WSC latencies the acknowledgement rows are measured at.
const WSC_LATENCIES_MS: [u64; 3] = [0, 500, 5_000];

// ---------------------------------------------------------------------------------------------
// Figures, and their medians over runs
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq)]
enum Unit {
    Ms,
    Mb,
    PerSec,
}

impl Unit {
    fn number(self, x: f64) -> String {
        match self {
            Unit::Ms => format!("{x:.2}"),
            Unit::Mb => format!("{x:.1}"),
            Unit::PerSec => format!("{x:.0}"),
        }
    }

    fn suffix(self) -> &'static str {
        match self {
            Unit::Ms => "ms",
            Unit::Mb => "MB",
            Unit::PerSec => "interactions/s",
        }
    }

    fn show(self, x: f64) -> String {
        format!("{} {}", self.number(x), self.suffix())
    }
}

/// One value of a row: its name (`p99`, `idle`; empty for a row of one value), the value, its
/// unit.
#[derive(Clone, Debug)]
struct Reading {
    name: &'static str,
    x: f64,
    unit: Unit,
}

/// A goal: the value named `value` is at most `max` (in its unit).
#[derive(Clone, Debug)]
struct Goal {
    value: &'static str,
    max: f64,
    text: &'static str,
}

/// One row of the table, as one run measured it.
#[derive(Clone, Debug)]
struct Figure {
    what: String,
    values: Vec<Reading>,
    /// The values whose spread over runs is shown.
    spread: Vec<&'static str>,
    goals: Vec<Goal>,
}

impl Figure {
    /// A latency row: p50 and p99 in ms; its spread is that of p99.
    fn latency(what: impl Into<String>, samples_ms: &mut [f64]) -> Figure {
        let (p50, p99) = (percentile(samples_ms, 0.5), percentile(samples_ms, 0.99));
        Figure {
            what: what.into(),
            values: vec![
                Reading { name: "p50", x: p50, unit: Unit::Ms },
                Reading { name: "p99", x: p99, unit: Unit::Ms },
            ],
            spread: vec!["p99"],
            goals: vec![],
        }
    }

    fn single(what: impl Into<String>, x: f64, unit: Unit) -> Figure {
        Figure {
            what: what.into(),
            values: vec![Reading { name: "", x, unit }],
            spread: vec![""],
            goals: vec![],
        }
    }

    fn goal(mut self, value: &'static str, max: f64, text: &'static str) -> Figure {
        self.goals.push(Goal { value, max, text });
        self
    }

    fn value(&self, name: &str) -> f64 {
        self.values.iter().find(|v| v.name == name).map(|v| v.x).expect("a value of this name")
    }

    fn met(&self) -> bool {
        self.goals.iter().all(|g| self.value(g.value) <= g.max)
    }

    fn shown(&self) -> String {
        self.values.iter().map(|v| v.unit.show(v.x)).collect::<Vec<_>>().join(" / ")
    }
}

/// The `p` quantile (0 to 1) of `samples`, nearest rank.
fn percentile(samples: &mut [f64], p: f64) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[((samples.len() as f64 - 1.0) * p).round() as usize]
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The table: per row, the median of every value over the runs, the min–max of the values the
/// row names for its spread, and its goals, met only when every run met them.
fn print_table(runs: &[Vec<Figure>]) {
    let n = runs.len();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let median_head = if n == 1 { "result of 1 run".to_owned() } else { format!("median of {n} runs") };
    println!("| measure (loopback, {cores} cores) | {median_head} | spread (min–max over runs) | goal | goal met? |");
    println!("|---|---|---|---|---|");
    for (i, first) in runs[0].iter().enumerate() {
        let rows: Vec<&Figure> = runs.iter().map(|run| &run[i]).collect();
        assert!(rows.iter().all(|r| r.what == first.what), "every run measures the same rows");
        let medians = first
            .values
            .iter()
            .map(|v| v.unit.show(median(rows.iter().map(|r| r.value(v.name)).collect())))
            .collect::<Vec<_>>()
            .join(" / ");
        let spread = first
            .spread
            .iter()
            .map(|name| {
                let unit = first.values.iter().find(|v| v.name == *name).unwrap().unit;
                let xs: Vec<f64> = rows.iter().map(|r| r.value(name)).collect();
                let (min, max) = (
                    xs.iter().copied().fold(f64::INFINITY, f64::min),
                    xs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                );
                let range = format!("{}–{} {}", unit.number(min), unit.number(max), unit.suffix());
                if name.is_empty() {
                    range
                } else {
                    format!("{name} {range}")
                }
            })
            .collect::<Vec<_>>()
            .join(", ");
        let goal = first.goals.iter().map(|g| g.text).collect::<Vec<_>>().join(", ");
        let verdict = if first.goals.is_empty() {
            String::new()
        } else {
            let met = rows.iter().filter(|r| r.met()).count();
            if met == n {
                if n == 1 {
                    "met".to_owned()
                } else {
                    format!("met (in all {n} runs)")
                }
            } else {
                format!("**not met in every run** (met in {met} of {n})")
            }
        };
        println!("| {} | {medians} | {spread} | {goal} | {verdict} |", first.what);
    }
}

/// The sections to measure: `--only NAME[,NAME…]` among the arguments (gateway, serve, fresh,
/// autocomplete, replicas, watcher, store), else every one.
fn only() -> Option<Vec<String>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let at = args.iter().position(|a| a == "--only")?;
    Some(args.get(at + 1).expect("--only names sections").split(',').map(str::to_owned).collect())
}

/// The number of runs: `--runs N` (or `--runs=N`) among the arguments, else `BENCH_RUNS`, else 3.
/// Other arguments (cargo passes `--bench`) are ignored.
fn runs() -> usize {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let parse = |v: &str| -> usize {
        v.parse().ok().filter(|n| *n > 0).unwrap_or_else(|| panic!("the number of runs is a count: {v:?}"))
    };
    let mut runs = std::env::var("BENCH_RUNS").ok().map(|v| parse(&v));
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if let Some(v) = arg.strip_prefix("--runs=") {
            runs = Some(parse(v));
        } else if arg == "--runs" {
            runs = Some(parse(args.next().map_or("", String::as_str)));
        }
    }
    runs.unwrap_or(3)
}

// ---------------------------------------------------------------------------------------------
// Waiting for interactions to finish
// ---------------------------------------------------------------------------------------------

fn is_edit(c: &RestCall) -> bool {
    c.method == "PATCH" && c.path.ends_with("/messages/@original")
}

/// Waits until `n` interactions have had their @original edited since the fake Discord's log was
/// last cleared (a `/wsc jobs` ends with that edit, the list), checks that each was edited once
/// and accepted, and clears the log: it is scanned on every wait, so it is kept short. Returns
/// when the last edit arrived.
async fn finished(discord: &FakeDiscord, n: usize, within: Duration) -> Instant {
    let arrived = discord.wait_until(|d| d.count_calls(is_edit) >= n, within).await;
    assert!(arrived, "{} of {n} interactions finished within {within:?}", discord.count_calls(is_edit));
    let calls = discord.rest_calls();
    let edits: Vec<&RestCall> = calls.iter().filter(|c| is_edit(c)).collect();
    let edited: HashSet<&str> = edits.iter().map(|c| c.path.as_str()).collect();
    assert_eq!((edits.len(), edited.len()), (n, n), "each interaction's @original edited once");
    assert!(edits.iter().all(|c| c.status < 300), "every edit accepted");
    discord.clear_rest_calls();
    edits.iter().map(|c| c.at).max().expect("n > 0")
}

// ---------------------------------------------------------------------------------------------
// Gateway mode
// ---------------------------------------------------------------------------------------------

/// A `wsc-bot run` process of its own, as deployed, on the fake Discord's gateway and the
/// simulator, logging warnings only as the serve process does (whatever `RUST_LOG` the bench
/// runs with); the fake Discord's verdict is waived: a measurement, not a test.
async fn gateway_process(sim_settings: SimSettings) -> (Bot, BotProcess) {
    let quiet = [("RUST_LOG", "warn".to_owned())];
    let (bot, process) =
        start_process_in(Front::Gateway, FakeDiscord::start().await, sim_settings, 30, &quiet).await;
    bot.discord.waive_verdict();
    bot.discord.clear_rest_calls();
    (bot, process)
}

/// Gateway mode: dispatch of `/wsc jobs` to the acknowledgement reaching the fake Discord, at
/// each WSC latency; one bot process for the three rows.
async fn gateway_acks() -> Vec<Figure> {
    let (bot, _process) = gateway_process(settings()).await;
    for _ in 0..WARM_UP {
        bot.command(&viewer(), "jobs", PAGE_TWO.clone()).await;
        finished(&bot.discord, 1, Duration::from_secs(10)).await;
    }
    let mut figures = Vec::new();
    for latency in WSC_LATENCIES_MS {
        bot.sim.set_fault(Operation::List, Fault { latency_ms: latency, ..Fault::default() });
        let mut samples = Vec::new();
        for _ in 0..SAMPLES / BURST {
            for _ in 0..BURST {
                let sent = Instant::now();
                let id = bot.command(&viewer(), "jobs", PAGE_TWO.clone()).await;
                let callback = bot.callback(id).await;
                samples.push(ms(callback.at.duration_since(sent)));
            }
            finished(&bot.discord, BURST, Duration::from_millis(latency) + Duration::from_secs(30)).await;
        }
        figures.push(
            Figure::latency(
                format!("gateway: time to acknowledge, WSC answering in {latency} ms (p50 / p99)"),
                &mut samples,
            )
            .goal("p99", 5.0, "p99 ≤ 5 ms"),
        );
    }
    figures
}

/// Autocomplete of a job among 10,000, over the gateway: dispatch to the answer reaching the fake
/// Discord.
async fn autocomplete() -> Figure {
    let mut settings = settings();
    settings.seed.extend(generated_seed(10_000, 2_000_000_000));
    let (bot, _process) = gateway_process(settings).await;
    let mut samples = Vec::new();
    for i in 0..WARM_UP + SAMPLES {
        let sent = Instant::now();
        let id = bot.send(bot.autocomplete_json(&operator(), "stop", &format!("host{}", 9_000 + i))).await;
        let callback = bot.callback(id).await;
        assert_eq!(callback.body["type"], 8, "{:#}", callback.body);
        // The first ones fill the bot's cache and open its connections.
        if i >= WARM_UP {
            samples.push(ms(callback.at.duration_since(sent)));
        }
        bot.discord.clear_rest_calls();
    }
    Figure::latency("autocomplete with 10,000 jobs, dispatch to answer (p50 / p99)", &mut samples).goal(
        "p99",
        50.0,
        "p99 ≤ 50 ms",
    )
}

// ---------------------------------------------------------------------------------------------
// Serve mode
// ---------------------------------------------------------------------------------------------

/// A child process that is killed when the bench ends, panicking or not.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A `wsc-bot serve` process against the simulator, as deployed, with its store at `database`
/// and `more` variables; its base URL and start time.
fn serve_process(
    discord: &FakeDiscord,
    sim: &SimHandle,
    database: &str,
    more: &[(&'static str, String)],
) -> (Killed, String, Duration) {
    let mut vars = serve_vars(discord, sim);
    vars.insert("WSC_HTTP_LISTEN", "127.0.0.1:0".into());
    vars.insert("WSC_REQUEST_TIMEOUT_SECS", "30".into());
    vars.insert("RUST_LOG", "warn".into());
    vars.insert("WSC_DATABASE_URL", database.to_owned());
    vars.extend(more.iter().cloned());
    let started = Instant::now();
    let mut child = Command::new(serve_binary())
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

/// The `wsc-bot` that serve rows measure: `BENCH_SERVE_BINARY`, to compare two versions of the
/// bot under one harness, else this build's.
fn serve_binary() -> String {
    std::env::var("BENCH_SERVE_BINARY").unwrap_or_else(|_| env!("CARGO_BIN_EXE_wsc-bot").to_owned())
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

/// `interaction` signed as Discord signs it: the body and its two headers.
fn signed(interaction: &Value) -> (String, String, String) {
    let body = interaction.to_string();
    let timestamp = now_secs().to_string();
    let signature = signature(&signing_key(), &timestamp, body.as_bytes());
    (body, timestamp, signature)
}

async fn send_signed(
    http: &reqwest::Client,
    server: &str,
    (body, timestamp, signature): (String, String, String),
) -> reqwest::Result<reqwest::Response> {
    http.post(format!("{server}/interactions"))
        .header("x-signature-ed25519", signature)
        .header("x-signature-timestamp", timestamp)
        .body(body)
        .send()
        .await
}

/// Delivers `interaction` signed to the endpoint; returns how long the inline answer took.
async fn post_signed(
    http: &reqwest::Client,
    discord: &FakeDiscord,
    server: &str,
    interaction: &Value,
) -> Duration {
    discord.deliver_inline(interaction);
    let request = signed(interaction);
    let sent = Instant::now();
    let response = send_signed(http, server, request).await.unwrap();
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

/// `/wsc jobs page:2`: a list that asks WSC every time. The first page, while the bot's list of
/// it is fresh, is answered without WSC; `first_page_command` and its own rows measure that.
fn jobs_command(id: u64, member: &Member) -> Value {
    jobs_page_command(id, member, PAGE_TWO.clone())
}

fn first_page_command(id: u64, member: &Member) -> Value {
    jobs_page_command(id, member, json!([]))
}

fn jobs_page_command(id: u64, member: &Member, options: Value) -> Value {
    let data = json!({"id": "1", "name": "wsc", "type": 1, "options": [{"name": "jobs", "type": 1, "options": options}]});
    slash_command(id, member, "en-US", data)
}

/// The options of `/wsc jobs page:2`.
static PAGE_TWO: std::sync::LazyLock<Value> =
    std::sync::LazyLock::new(|| json!([{"name": "page", "type": 4, "value": 2}]));

/// Open loop: `/wsc jobs` sent at a fixed rate for a fixed time, each at its scheduled time
/// whether or not earlier ones were answered (a slow answer cannot hold back the next request,
/// as it does in a closed loop). Latency runs from each request's scheduled send time to its
/// answer; returns the latencies in ms, the rate at which answers came, and how late the pacer
/// was at worst (its own lateness counts in the latencies).
///
/// The pacer is a thread of its own sleeping until each slot: tokio's timer has a resolution of
/// 1 ms, which would make every request up to a millisecond late.
async fn open_loop(
    http: &reqwest::Client,
    discord: &FakeDiscord,
    servers: &[String],
    first_id: u64,
    (rate, secs): (u32, u32),
) -> (Vec<f64>, f64, f64) {
    let n = (rate * secs) as usize;
    let period = Duration::from_secs(1) / rate;
    let start = Instant::now() + Duration::from_millis(20);
    let slot = move |i: usize| start + period * i as u32;
    let runtime = tokio::runtime::Handle::current();
    let (http, discord, servers) = (http.clone(), discord.clone(), servers.to_vec());
    let pacer = std::thread::spawn(move || {
        let mut requests = Vec::with_capacity(n);
        let mut late = Duration::ZERO;
        for i in 0..n {
            let interaction = jobs_command(first_id + i as u64, &viewer());
            // Prepared and signed before its slot, so that only sending it is on the clock.
            discord.deliver_inline(&interaction);
            let request = signed(&interaction);
            std::thread::sleep(slot(i).saturating_duration_since(Instant::now()));
            late = late.max(Instant::now().saturating_duration_since(slot(i)));
            // Round robin, as a load balancer in front of replicas.
            let (http, discord, server) = (http.clone(), discord.clone(), servers[i % servers.len()].clone());
            requests.push(runtime.spawn(async move {
                let response = send_signed(&http, &server, request).await.unwrap();
                let answer_at = Instant::now();
                assert_eq!(answered(&discord, &interaction, response).await, 200);
                answer_at
            }));
        }
        (requests, late)
    });
    let (requests, late) = tokio::task::spawn_blocking(move || pacer.join().unwrap()).await.unwrap();
    let mut latencies = Vec::with_capacity(n);
    let mut last = start;
    for (i, request) in requests.into_iter().enumerate() {
        let answer_at = request.await.unwrap();
        latencies.push(ms(answer_at.duration_since(slot(i))));
        last = last.max(answer_at);
    }
    (latencies, n as f64 / last.duration_since(start).as_secs_f64(), ms(late))
}

/// Everything measured on a `wsc-bot serve` process, started afresh.
async fn serve_figures() -> Vec<Figure> {
    let discord = FakeDiscord::start().await;
    discord.waive_verdict(); // a measurement, not a test
    let sim = start_sim(settings()).await;
    // Its store, as deployed: a SQLite file of its own.
    let (child, server, start_to_ready) = serve_process(&discord, &sim, &common::sqlite_url(), &[]);
    let pid = child.0.id();
    let http = reqwest::Client::new();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let idle = rss_kib(pid);
    let mut next_id = 1_000u64;
    for _ in 0..WARM_UP {
        next_id += 1;
        post_signed(&http, &discord, &server, &jobs_command(next_id, &viewer())).await;
        finished(&discord, 1, Duration::from_secs(10)).await;
    }
    let mut figures = Vec::new();
    for latency in WSC_LATENCIES_MS {
        sim.set_fault(Operation::List, Fault { latency_ms: latency, ..Fault::default() });
        let mut samples = Vec::new();
        for _ in 0..SAMPLES / BURST {
            for _ in 0..BURST {
                next_id += 1;
                let took = post_signed(&http, &discord, &server, &jobs_command(next_id, &viewer())).await;
                samples.push(ms(took));
            }
            finished(&discord, BURST, Duration::from_millis(latency) + Duration::from_secs(30)).await;
        }
        figures.push(
            Figure::latency(
                format!(
                    "serve: signed request to inline acknowledgement, WSC answering in {latency} ms (p50 / p99)"
                ),
                &mut samples,
            )
            .goal("p99", 5.0, "p99 ≤ 5 ms"),
        );
    }
    sim.clear_faults();

    let (mut latencies, rate, late) =
        open_loop(&http, &discord, std::slice::from_ref(&server), 500_000, (OPEN_LOOP_RATE, OPEN_LOOP_SECS))
            .await;
    eprintln!("  (open loop: the pacer was {late:.2} ms late at worst)");
    finished(&discord, latencies.len(), Duration::from_secs(30)).await;
    let mut open = Figure::latency(
        format!(
            "serve: open loop, {OPEN_LOOP_RATE} `/wsc jobs`/s for {OPEN_LOOP_SECS} s, instant WSC: scheduled send to \
             inline acknowledgement (p50 / p99 / rate answered)"
        ),
        &mut latencies,
    )
    .goal("p99", 5.0, "p99 ≤ 5 ms");
    open.values.push(Reading { name: "rate", x: rate, unit: Unit::PerSec });
    figures.push(open);

    // One interaction at a time, each finished (its list edited in) before the next is sent, so
    // a sample measures the bot's own work, not the previous interaction's; each is paired with
    // the same client's round trip to `/healthz`, which does nothing, taken under the same
    // conditions just before. The bot's latency is the distribution of the differences, pair by
    // pair, kept signed (host noise can make a pair's `/healthz` the slower).
    let (mut alone, mut bare, mut added) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..SAMPLES {
        let sent = Instant::now();
        assert_eq!(http.get(format!("{server}/healthz")).send().await.unwrap().status(), 200);
        let healthz = ms(sent.elapsed());
        next_id += 1;
        let interaction = ms(post_signed(&http, &discord, &server, &jobs_command(next_id, &viewer())).await);
        finished(&discord, 1, Duration::from_secs(10)).await;
        alone.push(interaction);
        bare.push(healthz);
        added.push(interaction - healthz);
    }
    figures.push(Figure::latency(
        "serve: signed request to inline acknowledgement, instant WSC, one at a time (p50 / p99)",
        &mut alone,
    ));
    figures.push(Figure::latency(
        "serve: the same client's round trip to `/healthz`, alternating with those (p50 / p99)",
        &mut bare,
    ));
    figures.push(
        Figure::latency(
            "serve: latency the bot adds (per pair, interaction minus its `/healthz`; p50 / p99 of the differences)",
            &mut added,
        )
        .goal("p99", 2.0, "p99 ≤ 2 ms"),
    );

    // The host's own wake-up cost: the same no-op round trip after 25 ms of idleness.
    let mut idle_trips = Vec::new();
    for _ in 0..BURST {
        tokio::time::sleep(Duration::from_millis(25)).await;
        let sent = Instant::now();
        assert_eq!(http.get(format!("{server}/healthz")).send().await.unwrap().status(), 200);
        idle_trips.push(ms(sent.elapsed()));
    }
    figures.push(Figure::latency(
        "host: `/healthz` round trip after 25 ms idle, no bot work (p50 / p99)",
        &mut idle_trips,
    ));

    // Throughput: 2,000 interactions, 100 at a time, until the last one's list is edited in.
    const TOTAL: u64 = 2_000;
    let started = Instant::now();
    let cpu_before = cpu_time(pid);
    let peak = Arc::new(AtomicU64::new(0));
    let sampler = {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                peak.fetch_max(rss_kib(pid), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let mut handles = Vec::new();
    for i in 0..TOTAL {
        let (http, server, discord) = (http.clone(), server.clone(), discord.clone());
        let interaction = jobs_command(100_000 + i, &operator());
        discord.deliver_inline(&interaction);
        handles.push(tokio::spawn(async move {
            match send_signed(&http, &server, signed(&interaction)).await {
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
    let acked = started.elapsed();
    let last_edit = finished(&discord, TOTAL as usize, Duration::from_secs(60)).await;
    eprintln!(
        "  (throughput: the last of {TOTAL} acknowledged after {:.2} s, the last list edited in after {:.2} s)",
        acked.as_secs_f64(),
        last_edit.duration_since(started).as_secs_f64()
    );
    let rate = TOTAL as f64 / last_edit.duration_since(started).as_secs_f64();
    sampler.abort();
    let cpu_per_interaction = cpu_time(pid).saturating_sub(cpu_before) / TOTAL as u32;
    figures.push(Figure::single(
        "serve: throughput, 100 concurrent signed `/wsc jobs`, until the last list is edited in",
        rate,
        Unit::PerSec,
    ));
    figures.push(Figure::single(
        "serve: CPU time per `/wsc jobs`, whole interaction (verify, answer, WSC call, edit)",
        ms(cpu_per_interaction),
        Unit::Ms,
    ));
    figures.push(
        Figure {
            what: "serve: resident memory idle / peak under 100 concurrent interactions".into(),
            values: vec![
                Reading { name: "idle", x: idle as f64 / 1024.0, unit: Unit::Mb },
                Reading { name: "peak", x: peak.load(Ordering::Relaxed) as f64 / 1024.0, unit: Unit::Mb },
            ],
            spread: vec!["idle", "peak"],
            goals: vec![],
        }
        .goal("idle", 20.0, "idle ≤ 20 MB")
        .goal("peak", 40.0, "peak ≤ 40 MB"),
    );
    figures.push(Figure::single("serve: process start to listening", ms(start_to_ready), Unit::Ms));
    drop(child);
    figures
}

// ---------------------------------------------------------------------------------------------
// Replicas, and the watcher
// ---------------------------------------------------------------------------------------------

/// The open-loop rates tried on two replicas, each for `REPLICA_STEP_SECS`.
const REPLICA_RATES: [u32; 5] = [100, 200, 400, 600, 800];
const REPLICA_STEP_SECS: u32 = 3;

/// Two `serve` replicas on one PostgreSQL, behind a round-robin balancer: `/wsc jobs` sent open
/// loop at rising rates; the highest rate whose acknowledgements (scheduled send to inline
/// answer) keep a p99 of 50 ms, and that p99.
async fn replica_figures() -> Vec<Figure> {
    let discord = FakeDiscord::start().await;
    discord.waive_verdict(); // a measurement, not a test
    let sim = start_sim(settings()).await;
    let database = common::postgres::database().await;
    let (a, url_a, _) = serve_process(&discord, &sim, &database, &[]);
    let (b, url_b, _) = serve_process(&discord, &sim, &database, &[]);
    let servers = [url_a, url_b];
    let http = reqwest::Client::new();
    for i in 0..WARM_UP as u64 {
        post_signed(&http, &discord, &servers[i as usize % 2], &jobs_command(600_000 + i, &viewer())).await;
        finished(&discord, 1, Duration::from_secs(10)).await;
    }
    let (mut best_rate, mut best_p99) = (0.0, f64::NAN);
    let mut first_id = 700_000u64;
    for rate in REPLICA_RATES {
        let (mut latencies, answered, _) =
            open_loop(&http, &discord, &servers, first_id, (rate, REPLICA_STEP_SECS)).await;
        first_id += latencies.len() as u64;
        finished(&discord, latencies.len(), Duration::from_secs(60)).await;
        let p99 = percentile(&mut latencies, 0.99);
        eprintln!("  (two replicas: {rate}/s sent, {answered:.0}/s answered, p99 {p99:.2} ms)");
        if p99 > 50.0 {
            break;
        }
        (best_rate, best_p99) = (answered, p99);
    }
    drop((a, b));
    vec![Figure {
        what: "two serve replicas on one PostgreSQL: highest open-loop rate of `/wsc jobs` with p99 \
               acknowledgement ≤ 50 ms (rate / its p99)"
            .into(),
        values: vec![
            Reading { name: "rate", x: best_rate, unit: Unit::PerSec },
            Reading { name: "p99", x: best_p99, unit: Unit::Ms },
        ],
        spread: vec!["rate"],
        goals: vec![],
    }]
}

/// `wsc_bot_watch_polls_total{result="ok"}` from a process's `/metrics`.
async fn polls_done(http: &reqwest::Client, server: &str) -> u64 {
    let text = http.get(format!("{server}/metrics")).send().await.unwrap().text().await.unwrap();
    text.lines()
        .find(|l| l.starts_with("wsc_bot_watch_polls_total{") && l.contains("result=\"ok\""))
        .and_then(|l| l.split_whitespace().last()?.parse().ok())
        .unwrap_or(0)
}

/// A `serve` process watching a channel of 10,000 jobs, polling every 10 s: its CPU time per
/// poll (listing every page, comparing, renewing its lease; no job changes, so nothing posted).
async fn watcher_figure() -> Figure {
    let discord = FakeDiscord::start().await;
    discord.waive_verdict(); // a measurement, not a test
    let mut settings = settings();
    settings.seed.extend(generated_seed(10_000, 2_000_000_000));
    let sim = start_sim(settings).await;
    let watch = [
        ("WSC_WATCH_CHANNEL_ID", common::fake_discord::WATCH_CHANNEL.to_string()),
        ("WSC_WATCH_INTERVAL_SECS", "10".to_owned()), // the shortest allowed
    ];
    let (child, server, _) = serve_process(&discord, &sim, &common::sqlite_url(), &watch);
    let http = reqwest::Client::new();
    // The first poll takes the baseline (10,000 jobs saved); steady polls follow.
    while polls_done(&http, &server).await < 1 {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (polls_before, cpu_before) = (polls_done(&http, &server).await, cpu_time(child.0.id()));
    while polls_done(&http, &server).await < polls_before + 2 {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (polls, cpu) = (polls_done(&http, &server).await - polls_before, cpu_time(child.0.id()) - cpu_before);
    eprintln!("  (watcher: {polls} polls of 10,000 jobs, {} ms CPU)", cpu.as_millis());
    Figure::single(
        "watcher: CPU time per poll of 10,000 jobs (serve process, SQLite)",
        ms(cpu) / polls as f64,
        Unit::Ms,
    )
}

// ---------------------------------------------------------------------------------------------
// The store
// ---------------------------------------------------------------------------------------------

/// What the store adds to one confirmed stop, measured on the store the binary opens: the
/// admission of the Stop click and of the confirm (two interaction ids), the claim, the audit
/// event before the call and the one after, and the release, one after another as the confirm
/// makes them.
async fn store_per_stop(engine: &str, url: &str) -> Figure {
    use std::sync::Arc;
    use wsc_bot::bot::action::Act;
    use wsc_bot::bot::audit::{AuditEvent, Outcome};
    use wsc_bot::bot::ports::{now_ms, Store};
    let store: Arc<dyn Store> = Arc::new(wsc_bot::store::Guarded::new(Arc::new(
        wsc_bot::store::open(url).await.expect("the store opens"),
    )));
    let event = |instance: u64, outcome| AuditEvent {
        at_ms: now_ms(),
        correlation: format!("bench-{instance}"),
        interaction: instance,
        actor_id: 800000000000000001,
        actor_name: "oncall".to_owned(),
        matched_role: Some(1),
        act: Act::Stop,
        instance,
        target_url: Some("https://www.example.com/".to_owned()),
        outcome,
        wsc_code: None,
        request_id: Some("req".to_owned()),
        latency_ms: 1,
        reason: None,
    };
    let mut samples = Vec::with_capacity(SAMPLES);
    for i in 0..(SAMPLES + 20) as u64 {
        let instance = 3_000_000_000 + i;
        let started = Instant::now();
        assert_eq!(store.first_delivery(instance * 2).await, Ok(true));
        assert_eq!(store.first_delivery(instance * 2 + 1).await, Ok(true));
        assert_eq!(store.claim(instance, "bench", Duration::from_secs(40)).await, Ok(true));
        store.append_audit(&event(instance, Outcome::Attempted)).await.unwrap();
        store.append_audit(&event(instance, Outcome::Done)).await.unwrap();
        store.release(instance, "bench").await.unwrap();
        if i >= 20 {
            samples.push(ms(started.elapsed()));
        }
    }
    let goal = if engine == "SQLite" { 1.0 } else { 3.0 };
    let text = if engine == "SQLite" { "p99 ≤ 1 ms" } else { "p99 ≤ 3 ms" };
    Figure::latency(
        format!("store: what it adds to one confirmed stop, {engine} (six calls; p50 / p99)"),
        &mut samples,
    )
    .goal("p99", goal, text)
}

/// The watcher's memory with 10,000 jobs in the store: reading it at start, and one poll's
/// store calls (its lease renewed, 300 changed jobs saved).
async fn store_watch_figures(engine: &str, url: &str) -> Vec<Figure> {
    use wsc_bot::bot::ports::{Store, WatchedJob};
    use wsc_bot::bot::watch::Stage;
    let store = wsc_bot::store::open(url).await.expect("the store opens");
    let all: Vec<(u64, WatchedJob)> = (0..10_000u64)
        .map(|i| {
            (4_000_000_000 + i, WatchedJob { stage: Stage::Finished, message_id: Some(5_000_000_000 + i) })
        })
        .collect();
    store.save_watched(1, &all).await.unwrap();
    let (mut reads, mut saves) = (Vec::new(), Vec::new());
    for round in 0..20u64 {
        let started = Instant::now();
        let known = store.watched(1).await.unwrap().expect("a baseline");
        reads.push(ms(started.elapsed()));
        assert_eq!(known.len(), 10_000);
        let poll: Vec<(u64, WatchedJob)> = all[..300]
            .iter()
            .map(|(id, job)| (*id, WatchedJob { message_id: job.message_id.map(|m| m + round), ..*job }))
            .collect();
        let started = Instant::now();
        assert_eq!(store.lease("watch:1", "bench", Duration::from_secs(2)).await, Ok(true));
        store.save_watched(1, &poll).await.unwrap();
        saves.push(ms(started.elapsed()));
    }
    vec![
        Figure::latency(
            format!("store: reading the watcher's 10,000 jobs at start, {engine} (p50 / p99)"),
            &mut reads,
        ),
        Figure::latency(
            format!(
                "store: one poll's calls, the lease renewed and 300 changed jobs saved, {engine} (p50 / p99)"
            ),
            &mut saves,
        ),
    ]
}

async fn store_figures() -> Vec<Figure> {
    let sqlite = common::sqlite_url();
    let postgres = common::postgres::database().await;
    let mut figures =
        vec![store_per_stop("SQLite", &sqlite).await, store_per_stop("PostgreSQL", &postgres).await];
    figures.extend(store_watch_figures("SQLite", &common::sqlite_url()).await);
    figures.extend(store_watch_figures("PostgreSQL", &common::postgres::database().await).await);
    figures
}

/// `/wsc jobs` on its first page while the bot's list of it is fresh: from the signed request to
/// the inline answer that is the list itself, at each WSC latency.
async fn fresh_list_figures() -> Vec<Figure> {
    let discord = FakeDiscord::start().await;
    discord.waive_verdict(); // a measurement, not a test
    let sim = start_sim(settings()).await;
    let (_child, server, _) = serve_process(&discord, &sim, &common::sqlite_url(), &[]);
    let http = reqwest::Client::new();
    let mut next_id = 700_000u64;
    // The one list that asks WSC: after it the first page is fresh for a minute.
    post_signed(&http, &discord, &server, &first_page_command(next_id, &viewer())).await;
    finished(&discord, 1, Duration::from_secs(10)).await;
    let mut figures = Vec::new();
    for latency in WSC_LATENCIES_MS {
        sim.set_fault(Operation::List, Fault { latency_ms: latency, ..Fault::default() });
        let mut samples = Vec::new();
        for _ in 0..SAMPLES / 5 {
            next_id += 1;
            let interaction = first_page_command(next_id, &viewer());
            discord.deliver_inline(&interaction);
            let request = signed(&interaction);
            let sent = Instant::now();
            let response = send_signed(&http, &server, request).await.unwrap();
            let answer: Value = response.json().await.unwrap();
            samples.push(ms(sent.elapsed()));
            assert_eq!(answer["type"], 4, "the list itself, not a deferral: {answer}");
        }
        figures.push(
            Figure::latency(
                format!("serve: `/wsc jobs` to a usable list while it is fresh, WSC answering in {latency} ms (p50 / p99)"),
                &mut samples,
            )
            .goal("p99", 5.0, "p99 ≤ 5 ms"),
        );
    }
    figures
}

// ---------------------------------------------------------------------------------------------
// One run, and the runs
// ---------------------------------------------------------------------------------------------

/// Waits until this process, the harness, is idle (at most 5 s): a group's fake Discord and
/// simulator are freed by tasks that end after the group does, and freeing the hundreds of
/// megabytes of calls a fake Discord recorded took a core for a fifth of a second, beside the
/// next group's first measures.
async fn settle() {
    let harness = std::process::id();
    let started = Instant::now();
    for _ in 0..50 {
        let before = cpu_time(harness);
        tokio::time::sleep(Duration::from_millis(100)).await;
        if cpu_time(harness).saturating_sub(before) <= Duration::from_millis(10) {
            break;
        }
    }
    eprintln!("  (the harness was idle after {:.1} s)", started.elapsed().as_secs_f64());
}

/// Every row, measured once, every process started afresh.
async fn run_once() -> Vec<Figure> {
    let only = only();
    // Whether a group is to be measured, told once the harness is idle.
    let wanted = |name: &str| {
        let wanted = only.as_ref().is_none_or(|only| only.iter().any(|o| o == name));
        async move {
            if wanted {
                settle().await;
            }
            wanted
        }
    };
    let mut figures = Vec::new();
    if wanted("gateway").await {
        figures.extend(gateway_acks().await);
    }
    if wanted("serve").await {
        figures.extend(serve_figures().await);
    }
    if wanted("fresh").await {
        figures.extend(fresh_list_figures().await);
    }
    if wanted("autocomplete").await {
        figures.push(autocomplete().await);
    }
    if wanted("replicas").await {
        figures.extend(replica_figures().await);
    }
    if wanted("watcher").await {
        figures.push(watcher_figure().await);
    }
    if wanted("store").await {
        figures.extend(store_figures().await);
    }
    let binary = std::path::Path::new(env!("CARGO_BIN_EXE_wsc-bot"));
    let size = std::fs::metadata(binary).map(|m| m.len()).unwrap_or(0);
    figures.push(Figure::single(
        "release binary size (stripped, thin LTO)",
        size as f64 / 1_048_576.0,
        Unit::Mb,
    ));
    figures
}

#[tokio::main]
async fn main() {
    let n = runs();
    let mut runs = Vec::new();
    for run in 1..=n {
        let started = Instant::now();
        eprintln!("figures: run {run} of {n}");
        let figures = run_once().await;
        for figure in &figures {
            eprintln!("  {}: {}", figure.what, figure.shown());
        }
        eprintln!("figures: run {run} took {:.0} s", started.elapsed().as_secs_f64());
        runs.push(figures);
    }
    print_table(&runs);
    std::process::exit(0);
}
