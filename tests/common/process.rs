//! The `wsc-bot` binary run as a person runs it: only the given variables in its environment,
//! away from any `.env`, and killed (SIGKILL, by pid) when dropped.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_wsc-bot");

/// `wsc-bot args` with only `vars` set, plus `RUST_LOG` and `LOG_FORMAT` from the test's own
/// environment unless `vars` sets them: `scripts/secret-scan` runs the suites at TRACE, and the
/// binary must log the same way for the scan to see it (its log goes to the test's stderr).
/// Without a `RUST_LOG` the binary logs warnings only, to keep a plain test run readable.
pub fn command<'a>(args: &[&str], vars: impl IntoIterator<Item = (&'a str, &'a str)>) -> Command {
    let mut command = Command::new(BIN);
    command.args(args).env_clear().current_dir(std::env::temp_dir());
    command.env("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".to_owned()));
    if let Ok(format) = std::env::var("LOG_FORMAT") {
        command.env("LOG_FORMAT", format);
    }
    command.envs(vars);
    command
}

/// A running `wsc-bot`, killed when dropped.
pub struct Process {
    child: Option<Child>,
}

impl Process {
    /// Starts `wsc-bot args` with `vars`, its standard output piped (its log goes to stderr, as
    /// the test's own does).
    pub fn spawn(args: &[&str], vars: &HashMap<&'static str, String>) -> Process {
        let child = command(args, vars.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        Process { child: Some(child) }
    }

    /// The base URL in the first line the binary prints (`serve`: `http://ADDR/interactions`).
    pub fn printed_url(&mut self) -> String {
        let stdout = self.child.as_mut().and_then(|c| c.stdout.take()).expect("stdout is piped");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .expect("the URL is printed")
            .to_owned();
        url.trim_end_matches("/interactions").to_owned()
    }

    pub fn id(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Sends SIGTERM, as `docker stop` or Kubernetes do.
    pub fn terminate(&self) {
        let status = Command::new("kill").args(["-TERM", &self.id().to_string()]).status().unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit.
    pub async fn wait(mut self) -> ExitStatus {
        let mut child = self.child.take().expect("running");
        tokio::task::spawn_blocking(move || child.wait().unwrap()).await.unwrap()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
