//! Helpers shared by the integration tests: a simulator on 127.0.0.1 and a client for it.
#![allow(dead_code)]

use std::time::Duration;
use wsc_bot::metrics::Metrics;

use secrecy::SecretString;
use wsc_bot::wsc::sim::{self, SimHandle, SimSettings};
use wsc_bot::wsc::{ClientSettings, RetryPolicy, WscClient};

pub use secrets::{ACCESS_KEY, SECRET_KEY};

pub fn settings() -> SimSettings {
    SimSettings::new(ACCESS_KEY, SECRET_KEY)
}

/// Captures the audit trail (see [`audit`]) and, with `RUST_LOG` set, logs as the binary does
/// (`LOG_FORMAT` text or json) to stderr, so `scripts/secret-scan` can read everything the code
/// under test logs.
pub fn init_logging() {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::Layer;
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let format = if std::env::var("LOG_FORMAT").as_deref() == Ok("json") {
            wsc_bot::config::LogFormat::Json
        } else {
            wsc_bot::config::LogFormat::Text
        };
        let log = std::env::var_os("RUST_LOG")
            .is_some()
            .then(|| wsc_bot::logging::layer(format).expect("RUST_LOG is a valid filter"));
        let _ = tracing_subscriber::registry()
            .with(audit::Capture.with_filter(audit::filter()))
            .with(log)
            .try_init();
    });
}

static PANICS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Panics outside the tests' own code (a failed assertion is not counted) in this test binary
/// so far, spawned tasks included: tokio would otherwise swallow a panicking task's panic.
/// Counting starts with the first simulator.
pub fn panics() -> usize {
    PANICS.load(std::sync::atomic::Ordering::SeqCst)
}

fn count_panics() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let report = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !info.location().is_some_and(|l| l.file().starts_with("tests/")) {
                PANICS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
            report(info);
        }));
    });
}

pub async fn start_sim(settings: SimSettings) -> SimHandle {
    init_logging();
    count_panics();
    sim::start(settings, "127.0.0.1:0".parse().unwrap()).await.expect("simulator starts")
}

pub fn client_with(base: &str, access: &str, secret: &str, timeout: Duration) -> WscClient {
    WscClient::new(
        ClientSettings {
            base_url: base.parse().unwrap(),
            access_key: SecretString::from(access.to_owned()),
            secret_key: SecretString::from(secret.to_owned()),
            key_source: None,
            timeout,
            retry: RetryPolicy {
                max_attempts: 3,
                base_delay: Duration::from_millis(10),
                max_delay: Duration::from_millis(50),
            },
        },
        Metrics::new(),
    )
    .unwrap()
}

/// The core the binary would build from `config`: its store (a fresh SQLite file when
/// `WSC_DATABASE_URL` is not set), metrics of its own.
pub async fn core_for(config: &wsc_bot::config::Config) -> wsc_bot::bot::Core {
    let metrics = Metrics::new();
    let wsc = WscClient::new(config.wsc_client_settings().unwrap(), metrics.clone()).unwrap();
    let url = match config.database_url {
        Some(_) => config.store_url(false),
        None => sqlite_url(),
    };
    let store = wsc_bot::store::open(&url).await.expect("the store opens");
    let store = std::sync::Arc::new(wsc_bot::store::Guarded::new(std::sync::Arc::new(store)));
    wsc_bot::bot::Core::from_config(wsc, config, store, metrics)
}

/// A new SQLite database for one bot, in this test process's own directory. Directories left by
/// test processes that have ended are removed when the next one starts.
pub fn sqlite_url() -> String {
    static DIR: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let dir = DIR.get_or_init(|| {
        let root = std::env::temp_dir().join("wsc-bot-tests");
        if let Ok(entries) = std::fs::read_dir(&root) {
            for entry in entries.flatten() {
                let pid = entry.file_name().to_string_lossy().parse::<u32>().ok();
                if pid.is_some_and(|pid| !std::path::Path::new(&format!("/proc/{pid}")).exists()) {
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
        }
        let dir = root.join(std::process::id().to_string());
        std::fs::create_dir_all(&dir).expect("a directory for the tests' databases");
        dir
    });
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    format!("sqlite://{}/state-{n}.db", dir.display())
}

/// The NCP key pair in two files, as Docker and Kubernetes secrets give them (with a trailing
/// newline), starting with the pair the test simulator accepts.
pub struct KeyFiles {
    pub access: std::path::PathBuf,
    pub secret: std::path::PathBuf,
}

impl KeyFiles {
    pub fn new(tag: &str) -> KeyFiles {
        let dir = std::env::temp_dir().join(format!("wsc-bot-keys-{}-{tag}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let files = KeyFiles { access: dir.join("ncp_access_key"), secret: dir.join("ncp_secret_key") };
        files.write(ACCESS_KEY, SECRET_KEY);
        files
    }

    /// Rewrites both files, as a secret rotation does.
    pub fn write(&self, access: &str, secret: &str) {
        std::fs::write(&self.access, format!("{access}\n")).unwrap();
        std::fs::write(&self.secret, format!("{secret}\n")).unwrap();
    }

    /// `NCP_ACCESS_KEY_FILE` and `NCP_SECRET_KEY_FILE` naming them.
    pub fn vars(&self) -> [(&'static str, String); 2] {
        [
            ("NCP_ACCESS_KEY_FILE", self.access.to_str().unwrap().to_owned()),
            ("NCP_SECRET_KEY_FILE", self.secret.to_str().unwrap().to_owned()),
        ]
    }
}

impl Drop for KeyFiles {
    fn drop(&mut self) {
        if let Some(dir) = self.access.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A new directory under the system's temporary directory, for this process alone; removed with
/// everything in it when dropped.
pub struct TempDir(std::path::PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        use std::os::unix::fs::PermissionsExt;
        loop {
            let name = format!("wsc-bot-{tag}-{}-{:08x}", std::process::id(), fastrand::u32(..));
            let dir = std::env::temp_dir().join(name);
            match std::fs::create_dir(&dir) {
                Ok(()) => {
                    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
                    return TempDir(dir);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => panic!("could not create a temporary directory: {e}"),
            }
        }
    }

    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn client(sim: &SimHandle) -> WscClient {
    client_with(&sim.base_url(), ACCESS_KEY, SECRET_KEY, Duration::from_secs(5))
}

pub mod audit;
pub mod bot;
pub mod discord_spec;
pub mod fake_discord;
pub mod postgres;
pub mod process;
pub mod secrets;
pub mod serve;
