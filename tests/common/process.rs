//! The `wsc-bot` binary in its own process, as deployed: the lines it prints, its log, and
//! signals sent by pid. Its metrics are its own, so tests may read them exactly.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_wsc-bot");

/// `wsc-bot args` with only `vars` set, plus `RUST_LOG` and `LOG_FORMAT` from the test's own
/// environment unless `vars` sets them: `scripts/secret-scan` runs the suites at TRACE, and the
/// binary must log the same way for the scan to see it (its log goes to the test's stderr).
/// Without a `RUST_LOG` the binary logs warnings only, to keep a plain test run readable. Its
/// store is a fresh SQLite file unless `vars` names one.
pub fn command<'a>(args: &[&str], vars: impl IntoIterator<Item = (&'a str, &'a str)>) -> Command {
    let mut command = Command::new(BIN);
    command.args(args).env_clear().current_dir(std::env::temp_dir());
    command.env("WSC_DATABASE_URL", super::sqlite_url());
    command.env("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".to_owned()));
    if let Ok(format) = std::env::var("LOG_FORMAT") {
        command.env("LOG_FORMAT", format);
    }
    command.envs(vars);
    command
}

pub struct BotProcess {
    child: Child,
    lines: Receiver<String>,
    log: Arc<Mutex<String>>,
}

impl Drop for BotProcess {
    fn drop(&mut self) {
        // SIGKILL, by pid.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl BotProcess {
    /// Starts `wsc-bot ARGS` as [`command`] sets it up.
    pub fn spawn(args: &[&str], vars: &HashMap<&'static str, String>) -> BotProcess {
        let mut child = command(args, vars.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Both pipes are read to the end, so the process never blocks on a full one.
        let (sender, lines) = channel();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                let _ = sender.send(line);
            }
        });
        let log = Arc::new(Mutex::new(String::new()));
        let mut stderr = child.stderr.take().unwrap();
        let written = log.clone();
        std::thread::spawn(move || {
            let mut chunk = [0u8; 8192];
            while let Ok(n @ 1..) = stderr.read(&mut chunk) {
                let text = String::from_utf8_lossy(&chunk[..n]);
                // Passed on as well: `scripts/secret-scan` reads the tests' output.
                eprint!("{text}");
                written.lock().unwrap().push_str(&text);
            }
        });
        BotProcess { child, lines, log }
    }

    /// The next line it prints (waits up to 10 s).
    pub fn line(&self) -> String {
        self.lines.recv_timeout(Duration::from_secs(10)).expect("the bot printed a line")
    }

    /// The `http://` address in the next line it prints, without a path.
    pub fn next_url(&self) -> String {
        let line = self.line();
        let url = line.split_whitespace().find(|w| w.starts_with("http://")).expect("a URL is printed");
        url.trim_end_matches("/interactions").to_owned()
    }

    /// Everything it has logged so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// SIGTERM, as Docker and Kubernetes send it.
    pub fn terminate(&self) {
        self.signal("TERM");
    }

    /// A signal by name (`HUP`, `TERM`), sent to its pid.
    pub fn signal(&self, name: &str) {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill").args([&format!("-{name}"), &pid]).status().unwrap().success());
    }

    /// Its process id (a replica's leases are held under it: `<pid>-<random>`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// SIGTERM, then the process must exit 0 within `limit` (`what` names the case); returns how
    /// long it took.
    pub async fn terminate_and_exit_0(&mut self, limit: Duration, what: &str) -> Duration {
        self.terminate();
        let started = Instant::now();
        while started.elapsed() < limit {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert_eq!(status.code(), Some(0), "{what}: exits 0: {}", self.log());
                return started.elapsed();
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("{what}: still running {limit:?} after SIGTERM: {}", self.log());
    }
}
