use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use secrecy::{ExposeSecret, SecretString};

use wsc_bot::bot::{Core, CoreSettings};
use wsc_bot::config::{Config, ConfigError};
use wsc_bot::discord::{endpoint, gateway, rest};
use wsc_bot::metrics::Metrics;
use wsc_bot::wsc::sim::{self, faults::parse_fault_flag, jobs, Lang, SimSettings};
use wsc_bot::wsc::{ClientSettings, RetryPolicy, WscClient};

/// Discord chat-ops for NAVER Cloud Web Security Checker scans.
#[derive(Parser)]
#[command(name = "wsc-bot", version, about)]
struct Cli {
    /// Without a subcommand, `run`.
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the bot over Discord's gateway (the normal deployment).
    Run(ModeArgs),
    /// Run the bot as an HTTP Interactions Endpoint (Ed25519-verified), with /healthz, /readyz and /metrics
    /// (on WSC_METRICS_LISTEN when set).
    Serve(ModeArgs),
    /// Register (overwrite) the slash commands in each guild of DISCORD_GUILD_ID, then exit.
    Register,
    /// Validate the configuration, call WSC once, and report in plain words (exit 0 only when all is well).
    Check,
    /// Run the WSC API simulator: a real HTTP server speaking the WSC API, signature check included.
    /// It accepts the key pair in NCP_ACCESS_KEY and NCP_SECRET_KEY.
    Simulate(SimulateArgs),
    /// Print the audit trail from the store (WSC_DATABASE_URL), newest first.
    Audit(AuditArgs),
}

#[derive(clap::Args)]
struct AuditArgs {
    /// Only events this recent: a number with m, h, d or w (30m, 12h, 7d, 2w). Default: all kept.
    #[arg(long, value_parser = wsc_bot::trail::parse_age)]
    since: Option<std::time::Duration>,
    /// Only events about this job.
    #[arg(long)]
    job: Option<u64>,
    /// text for people, jsonl for log shippers, csv for spreadsheets.
    #[arg(long, value_enum, default_value_t = wsc_bot::trail::Format::Text)]
    format: wsc_bot::trail::Format,
}

#[derive(clap::Args, Default)]
struct ModeArgs {
    /// Use an in-process WSC simulator instead of NCP: no NCP keys needed, and a banner says so.
    #[arg(long)]
    demo: bool,
}

#[derive(clap::Args)]
struct SimulateArgs {
    /// Address to listen on (keep it on loopback: the /_sim/ control routes are unauthenticated).
    #[arg(long, default_value = "127.0.0.1:8089")]
    listen: SocketAddr,
    /// Jobs to start with, as a JSON array (see tests/fixtures/seed.json); default: one job in every state.
    #[arg(long)]
    seed_file: Option<PathBuf>,
    /// Add this many generated jobs (load and autocomplete tests).
    #[arg(long, default_value_t = 0)]
    extra_jobs: usize,
    /// Simulated job time runs this many times faster than real time.
    #[arg(long, default_value_t = 1.0)]
    speed: f64,
    /// Shift the gateway's clock by this many seconds (tests clock skew).
    #[arg(long, default_value_t = 0, allow_hyphen_values = true)]
    clock_offset_secs: i64,
    /// HTTP status of WSC's own errors such as 901: 200 (older docs) or 400 (newer docs).
    #[arg(long, default_value_t = 200, value_parser = parse_error_status)]
    wsc_error_status: u16,
    /// Language of the status labels.
    #[arg(long, value_enum, default_value_t = Lang::En)]
    lang: Lang,
    /// A fault for one operation, repeatable: OP=latency=MS,error=KIND,rate=P,times=N,answer-latency=MS
    /// where OP is list, search, cancel, stop, report, create or all and KIND is gateway:CODE, wsc:CODE,
    /// status:CODE, 429, malformed, truncated, html, drop or oversized; times=N fails only the next N requests,
    /// answer-latency waits after the operation was carried out.
    /// Example: --fault stop=latency=5000,error=wsc:901,rate=0.5
    #[arg(long = "fault", value_parser = parse_fault_flag)]
    faults: Vec<(Vec<wsc_bot::wsc::Operation>, sim::Fault)>,
}

fn parse_error_status(text: &str) -> Result<u16, String> {
    match text {
        "200" => Ok(200),
        "400" => Ok(400),
        _ => Err("must be 200 or 400".into()),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(error) = load_dotenv() {
        eprintln!("error: {error}");
        return ExitCode::from(2);
    }
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => return config_failure(&error),
    };
    if let Err(error) = wsc_bot::logging::init(config.log_format) {
        return config_failure(&error);
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: could not start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        match cli.command.unwrap_or(Command::Run(ModeArgs::default())) {
            Command::Run(args) => start(&config, Mode::Gateway, args.demo).await,
            Command::Serve(args) => start(&config, Mode::Endpoint, args.demo).await,
            Command::Register => register(&config).await,
            Command::Check => {
                let settings = match config.wsc_client_settings() {
                    Ok(settings) => settings,
                    Err(error) => return config_failure(&error),
                };
                let report = wsc_bot::check::run(&config, settings).await;
                print!("{report}");
                if report.passed() {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                }
            }
            Command::Simulate(args) => simulate(&config, args).await,
            Command::Audit(args) => audit(&config, args).await,
        }
    })
}

fn config_failure(error: &ConfigError) -> ExitCode {
    eprintln!("error: {error}");
    ExitCode::from(2)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Gateway,
    Endpoint,
}

/// `run` and `serve`: the same core behind either front end.
async fn start(config: &Config, mode: Mode, demo: bool) -> ExitCode {
    // Discord settings first: a missing one stops the program before anything starts.
    if let Err(error) = config.served_guilds() {
        return config_failure(&error);
    }
    let discord_ready = match mode {
        Mode::Gateway => rest::http_client(config).map(drop),
        Mode::Endpoint => required_for_serve(config),
    };
    if let Err(error) = discord_ready {
        return config_failure(&error);
    }
    // The demo's simulator lives as long as the bot.
    let (settings, _simulator) = if demo {
        match demo_simulator(config).await {
            Ok(pair) => pair,
            Err(error) => {
                eprintln!("error: could not start the demo simulator: {error}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        match config.wsc_client_settings() {
            Ok(settings) => (settings, None),
            Err(error) => return config_failure(&error),
        }
    };
    let metrics = Metrics::new();
    let wsc = match WscClient::new(settings, metrics.clone()) {
        Ok(wsc) => wsc,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    wsc_bot::wsc::keys::reload_on_sighup(&wsc);
    if config.operator_role_ids.is_empty() {
        tracing::warn!("WSC_OPERATOR_ROLE_IDS is empty: nobody can cancel or stop scans");
    }
    let store = match wsc_bot::store::open(&config.store_url(demo)).await {
        Ok(store) => store,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(engine = store.engine().name(), "the store is open");
    let settings = CoreSettings { demo, ..CoreSettings::from_config(config) };
    // An outage of the store never holds an interaction up.
    let store = wsc_bot::store::Guarded::new(std::sync::Arc::new(store));
    let core = Core::new(wsc, settings, std::sync::Arc::new(store), metrics);
    let result = match mode {
        Mode::Gateway => gateway::run(config, core).await,
        Mode::Endpoint => match serve_listeners(config).await {
            Ok((listener, metrics_listener)) => {
                endpoint::serve(config, listener, metrics_listener, core).await
            }
            Err(error) => Err(error),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The endpoint's listener, and the one for health and metrics when `WSC_METRICS_LISTEN` names
/// another address. Each bound address is printed (port 0 picks one).
async fn serve_listeners(
    config: &Config,
) -> Result<(tokio::net::TcpListener, Option<tokio::net::TcpListener>), String> {
    async fn bind(addr: SocketAddr) -> Result<(tokio::net::TcpListener, String), String> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|error| format!("could not listen on {addr}: {error}"))?;
        let bound = listener.local_addr().map_or(addr.to_string(), |a| a.to_string());
        Ok((listener, bound))
    }
    let addr = config.http_listen.unwrap_or_else(|| "0.0.0.0:8080".parse().expect("a valid default address"));
    let (listener, bound) = bind(addr).await?;
    println!("wsc-bot serving the Interactions Endpoint on http://{bound}/interactions");
    // The same address means the same listener; port 0 picks a new port each time.
    let metrics_listener = match config.metrics_listen.filter(|m| *m != addr || m.port() == 0) {
        Some(metrics_addr) => {
            let (metrics_listener, bound) = bind(metrics_addr).await?;
            println!("wsc-bot serving /healthz, /readyz and /metrics on http://{bound}");
            Some(metrics_listener)
        }
        None => None,
    };
    Ok((listener, metrics_listener))
}

fn required_for_serve(config: &Config) -> Result<(), ConfigError> {
    let missing = |var: &'static str, what: &str| ConfigError {
        var,
        problem: format!("is not set: `serve` needs {what}"),
    };
    if config.discord_public_key.is_none() {
        return Err(missing(
            "DISCORD_PUBLIC_KEY",
            "the application's public key to verify Discord's signatures",
        ));
    }
    if config.discord_application_id.is_none() {
        return Err(missing("DISCORD_APPLICATION_ID", "the application id to edit responses"));
    }
    // Interaction webhooks need no token, but posting to a channel does: refuse at start
    // rather than warn at every post.
    if config.discord_token.is_none() {
        let channels = [
            ("WSC_WATCH_CHANNEL_ID", config.watch_channel_id, "post scan notifications"),
            ("WSC_AUDIT_CHANNEL_ID", config.audit_channel_id, "post audit lines"),
        ];
        if let Some((var, _, what)) = channels.into_iter().find(|(_, channel, _)| channel.is_some()) {
            return Err(ConfigError {
                var,
                problem: format!(
                    "is set but DISCORD_TOKEN is not: `serve` needs the bot token to {what} there"
                ),
            });
        }
    }
    Ok(())
}

/// An in-process simulator with throwaway keys, and the client settings that reach it.
async fn demo_simulator(config: &Config) -> std::io::Result<(ClientSettings, Option<sim::SimHandle>)> {
    let access = format!("demo-{:016x}", fastrand::u64(..));
    let secret = format!("demo-{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
    let handle =
        sim::start(SimSettings::new(&access, &secret), "127.0.0.1:0".parse().expect("loopback")).await?;
    let banner = "DEMO MODE: WSC is simulated in this process; nothing reaches NAVER Cloud.";
    eprintln!("\n{}\n  {banner}\n{}\n", "=".repeat(76), "=".repeat(76));
    tracing::warn!(simulator = %handle.base_url(), "{banner}");
    let settings = ClientSettings {
        base_url: handle.base_url().parse().expect("the simulator's URL"),
        access_key: SecretString::from(access),
        secret_key: SecretString::from(secret),
        key_source: None,
        timeout: config.request_timeout,
        retry: RetryPolicy::default(),
    };
    Ok((settings, Some(handle)))
}

async fn register(config: &Config) -> ExitCode {
    let guilds = match config.served_guilds() {
        Ok(guilds) => guilds,
        Err(error) => return config_failure(&error),
    };
    let http = match rest::http_client(config) {
        Ok(http) => http,
        Err(error) => return config_failure(&error),
    };
    if config.discord_application_id.is_none() {
        match http.get_current_application_info().await {
            Ok(application) => http.set_application_id(application.id),
            Err(error) => {
                eprintln!(
                    "error: could not read the application from Discord (is DISCORD_TOKEN right?): {error}"
                );
                return ExitCode::FAILURE;
            }
        }
    }
    match rest::register(&http, guilds).await {
        Ok(count) => {
            let guilds = guilds.iter().map(u64::to_string).collect::<Vec<_>>().join(", ");
            println!("Registered {count} command(s) in guild(s) {guilds}.");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: Discord refused the commands: {error}");
            ExitCode::FAILURE
        }
    }
}

/// `wsc-bot audit`: the trail as the store has it, for the security team's records.
async fn audit(config: &Config, args: AuditArgs) -> ExitCode {
    let store = match wsc_bot::store::open(&config.store_url(false)).await {
        Ok(store) => store,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    let since_ms = args.since.map_or(0, |age| {
        wsc_bot::bot::ports::now_ms().saturating_sub(i64::try_from(age.as_millis()).unwrap_or(i64::MAX))
    });
    let query = wsc_bot::bot::ports::AuditQuery {
        since_ms,
        instance: args.job,
        limit: u32::MAX,
        ..Default::default()
    };
    match wsc_bot::bot::Store::audit_trail(&store, &query).await {
        Ok(records) => {
            print!("{}", wsc_bot::trail::render(&records, args.format));
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: could not read the audit trail: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Reads `.env` if there is one; its values never override the environment.
/// A malformed line is named by number only: its text may hold a secret.
fn load_dotenv() -> Result<(), String> {
    match dotenvy::dotenv() {
        Ok(_) => Ok(()),
        Err(dotenvy::Error::Io(error)) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(dotenvy::Error::LineParse(line, _)) => {
            let number = std::fs::read_to_string(".env")
                .ok()
                .and_then(|text| text.lines().position(|l| l.trim() == line.trim()))
                .map(|i| format!(" on line {}", i + 1))
                .unwrap_or_default();
            Err(format!(".env has a malformed line{number}: write it as NAME=value"))
        }
        Err(error) => Err(format!(".env could not be read: {error}")),
    }
}

async fn simulate(config: &Config, args: SimulateArgs) -> ExitCode {
    let (Some(access_key), Some(secret_key)) = (&config.ncp_access_key, &config.ncp_secret_key) else {
        let var = if config.ncp_access_key.is_none() { "NCP_ACCESS_KEY" } else { "NCP_SECRET_KEY" };
        return config_failure(&ConfigError {
            var,
            problem: "is not set: the simulator accepts the key pair in NCP_ACCESS_KEY and NCP_SECRET_KEY"
                .into(),
        });
    };
    let mut settings = SimSettings::new(access_key.expose_secret(), secret_key.expose_secret());
    if let Some(path) = &args.seed_file {
        let seed = std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|text| serde_json::from_str::<Vec<jobs::SeedJob>>(&text).map_err(|e| e.to_string()));
        match seed {
            Ok(seed) => settings.seed = seed,
            Err(error) => {
                eprintln!("error: --seed-file {}: {error}", path.display());
                return ExitCode::from(2);
            }
        }
    }
    let next_id = settings.seed.iter().map(|j| j.instance_no).max().unwrap_or(0) + 1;
    settings.seed.extend(jobs::generated_seed(args.extra_jobs, next_id));
    settings.speed = args.speed;
    settings.clock_offset_ms = args.clock_offset_secs.saturating_mul(1000);
    settings.wsc_error_status = args.wsc_error_status;
    settings.lang = args.lang;
    settings.faults = args
        .faults
        .into_iter()
        .flat_map(|(ops, fault)| ops.into_iter().map(move |op| (op, fault.clone())))
        .collect();
    let jobs = settings.seed.len();
    let handle = match sim::start(settings, args.listen).await {
        Ok(handle) => handle,
        Err(error) => {
            eprintln!("error: could not listen on {}: {error}", args.listen);
            return ExitCode::FAILURE;
        }
    };
    println!(
        "WSC simulator on {} with {jobs} jobs; point WSC_API_BASE there. Ctrl-C stops it.",
        handle.base_url()
    );
    if let Err(error) = tokio::signal::ctrl_c().await {
        eprintln!("error: could not wait for Ctrl-C: {error}");
    }
    handle.shutdown().await;
    ExitCode::SUCCESS
}
