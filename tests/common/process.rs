//! The `wsc-bot` binary in its own process, as deployed: the lines it prints, its log, and
//! signals sent by pid. Its metrics are its own, so tests may read them exactly.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
    /// Starts `wsc-bot ARGS` with only `vars` in its environment (and `RUST_LOG`/`LOG_FORMAT`
    /// from the test's, so `scripts/secret-scan` sees its log at TRACE too).
    pub fn spawn(args: &[&str], vars: &HashMap<&'static str, String>) -> BotProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_wsc-bot"))
            .args(args)
            .env_clear()
            .envs(vars.iter().map(|(k, v)| (*k, v.as_str())))
            .envs(
                ["RUST_LOG", "LOG_FORMAT"].into_iter().filter_map(|k| std::env::var(k).ok().map(|v| (k, v))),
            )
            .current_dir(std::env::temp_dir())
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

    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Its exit code and how long it took to exit, or `None` if it was still running after `limit`.
    pub async fn exit_within(&mut self, limit: Duration) -> Option<(Option<i32>, Duration)> {
        let started = Instant::now();
        while started.elapsed() < limit {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some((status.code(), started.elapsed()));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        None
    }
}
