//! A throwaway PostgreSQL server for tests, from the machine's own binaries (Debian's
//! `postgresql` package): `initdb` into a fresh temporary directory, then `postgres` started as a
//! child of the test process on a free 127.0.0.1 port, trusting local connections, without fsync.
//!
//! [`database`] gives each test a database of its own on one server shared by the test binary.
//! A test that needs the server itself (to kill it, as an outage) starts its own with
//! [`Postgres::start`].
//!
//! Nothing outlives the test binary: the server and its directory go with the [`Postgres`]
//! value, the shared one when the process exits (an `atexit` hook), and a watchdog shell removes
//! whatever is left if the process dies without exiting (a SIGKILL, a timeout): it stops the
//! server whose pid it was last given when its stdin, the test process's end of a pipe, closes.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use sqlx::Connection;

use super::TempDir;

const INSTALL: &str = "the PostgreSQL tests start a throwaway server from the machine's PostgreSQL binaries \
                       (initdb and postgres), and none were found: install them with \
                       `apt-get install postgresql` (Debian and Ubuntu; `.ci/run` does it)";

/// How long a start may take before it is a failure.
const START_LIMIT: Duration = Duration::from_secs(30);

/// Stops whatever server pid it last read on stdin (`0`: none) when stdin closes, then removes
/// the directory `$1`. Signals from the terminal are ignored so that a Ctrl-C of the tests still
/// leaves it to clean up.
const WATCHDOG: &str = r#"trap '' INT TERM HUP
pid=0
while read -r line; do pid=$line; done
if [ "$pid" != 0 ]; then
  kill -QUIT "$pid" 2>/dev/null
  i=0
  while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  kill -KILL "$pid" 2>/dev/null
fi
rm -rf "$1"
"#;

/// One PostgreSQL server and its data directory.
pub struct Postgres {
    bin: PathBuf,
    /// The temporary directory: `data/`, `server.log` and the Unix socket.
    dir: TempDir,
    port: AtomicU16,
    /// The user the server runs as, when the tests run as root (PostgreSQL refuses root).
    user: Option<(u32, u32)>,
    server: Mutex<Option<Child>>,
    /// Killed and not started since: its shared memory is left to the next start to clear.
    killed: AtomicBool,
    watchdog: Mutex<Option<(Child, ChildStdin)>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A fresh database on the server the test binary shares, as a `postgres://` URL.
pub async fn database() -> String {
    shared().new_database().await
}

/// The server the test binary shares, started on first use and stopped when the process exits.
pub fn shared() -> &'static Postgres {
    static SHARED: OnceLock<Postgres> = OnceLock::new();
    extern "C" fn stop_shared() {
        if let Some(server) = SHARED.get() {
            server.shut_down();
        }
    }
    extern "C" {
        /// The C library's exit hook (Rust never drops statics): the happy path stops the shared
        /// server before the process is gone; the watchdog covers every other way out.
        fn atexit(callback: extern "C" fn()) -> std::os::raw::c_int;
    }
    SHARED.get_or_init(|| {
        let server = Postgres::start();
        // SAFETY: registers a plain function; it only touches `SHARED`, which outlives it.
        unsafe { atexit(stop_shared) };
        server
    })
}

impl Postgres {
    /// Starts a server of its own: `initdb` into a new temporary directory, then `postgres`.
    pub fn start() -> Postgres {
        let bin = binaries().unwrap_or_else(|| panic!("{INSTALL}"));
        let user = postgres_user();
        let dir = TempDir::new("pg");
        if let Some((uid, gid)) = user {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid))
                .expect("the temporary directory is given to postgres");
        }
        let watchdog = Command::new("sh")
            .args(["-c", WATCHDOG, "watchdog"])
            .arg(dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("sh starts");
        let mut watchdog = watchdog;
        let stdin = watchdog.stdin.take().unwrap();
        let server = Postgres {
            bin,
            dir,
            port: AtomicU16::new(0),
            user,
            server: Mutex::new(None),
            killed: AtomicBool::new(false),
            watchdog: Mutex::new(Some((watchdog, stdin))),
        };
        let initdb = server
            .command("initdb")
            .args(["-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync", "-D"])
            .arg(server.data())
            .output()
            .expect("initdb runs");
        assert!(
            initdb.status.success(),
            "initdb failed: {}{}",
            String::from_utf8_lossy(&initdb.stdout),
            String::from_utf8_lossy(&initdb.stderr)
        );
        // A free port can be taken by someone else before the server binds it: try another.
        let mut last = String::new();
        for _ in 0..5 {
            server.port.store(free_port(), Ordering::SeqCst);
            match server.spawn_server(START_LIMIT) {
                Ok(()) => return server,
                Err(why) => last = why,
            }
        }
        panic!("PostgreSQL did not start: {last}");
    }

    pub fn port(&self) -> u16 {
        self.port.load(Ordering::SeqCst)
    }

    /// The URL of database `name` on this server, with a password as deployments have one (the
    /// server trusts loopback and ignores it; the secret scan looks for it in every log).
    pub fn url(&self, name: &str) -> String {
        format!("postgres://postgres:{}@127.0.0.1:{}/{name}", super::secrets::DATABASE_PASSWORD, self.port())
    }

    /// Creates a database of its own for one test: `t_` and 16 random hex digits.
    pub async fn new_database(&self) -> String {
        let name = format!("t_{:016x}", fastrand::u64(..));
        let mut admin =
            sqlx::PgConnection::connect(&self.url("postgres")).await.expect("connects as postgres");
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.expect("CREATE DATABASE");
        admin.close().await.ok();
        self.url(&name)
    }

    /// The postmaster's pid, while it runs.
    pub fn pid(&self) -> Option<u32> {
        lock(&self.server).as_ref().map(Child::id)
    }

    /// SIGKILL to the postmaster, by pid, as a crash or an OOM kill would do it; returns once it
    /// is gone (its backends follow it within moments). The data directory stays.
    pub fn kill(&self) {
        if let Some(mut child) = lock(&self.server).take() {
            let _ = child.kill();
            let _ = child.wait();
            self.killed.store(true, Ordering::SeqCst);
        }
        self.tell_watchdog(0);
    }

    /// Stops the server the way `pg_ctl stop -m immediate` does (SIGQUIT), and waits for it.
    pub fn stop(&self) {
        if let Some(mut child) = lock(&self.server).take() {
            let quit = Command::new("kill").args(["-QUIT", &child.id().to_string()]).status();
            if !quit.is_ok_and(|s| s.success()) || !exits_within(&mut child, Duration::from_secs(10)) {
                let _ = child.kill();
            }
            let _ = child.wait();
        }
        self.tell_watchdog(0);
    }

    /// Starts the server again on the same data directory and port (after [`kill`](Self::kill)
    /// or [`stop`](Self::stop)); what was committed is there.
    pub fn restart(&self) {
        assert!(self.pid().is_none(), "the server is running");
        if let Err(why) = self.start_again(START_LIMIT) {
            panic!("PostgreSQL did not restart: {why}");
        }
    }

    /// After a SIGKILL the old backends may hold the shared memory, or the port, for a moment:
    /// tries until `limit` has passed.
    fn start_again(&self, limit: Duration) -> Result<(), String> {
        let started = Instant::now();
        loop {
            match self.spawn_server(limit) {
                Ok(()) => return Ok(()),
                Err(why) if started.elapsed() > limit => return Err(why),
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// A PostgreSQL binary, run as the postgres user when the tests run as root, in the
    /// temporary directory (the postgres user may not read the test's own).
    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(self.bin.join(program));
        command.current_dir(self.dir.path()).env("LC_ALL", "C").env_remove("PGDATA");
        if let Some((uid, gid)) = self.user {
            use std::os::unix::process::CommandExt;
            command.uid(uid).gid(gid);
        }
        command
    }

    /// Starts `postgres` on the data directory and waits until it accepts connections.
    fn spawn_server(&self, limit: Duration) -> Result<(), String> {
        let log_path = self.dir.path().join("server.log");
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&log_path).expect("server.log");
        if let Some((uid, gid)) = self.user {
            let _ = std::os::unix::fs::chown(&log_path, Some(uid), Some(gid));
        }
        let mut child = self
            .command("postgres")
            .arg("-D")
            .arg(self.data())
            .args(["-p", &self.port().to_string(), "-k"])
            .arg(self.dir.path())
            .args(["-c", "listen_addresses=127.0.0.1", "-c", "max_connections=300"])
            // No fsync: the machine does not crash under a test, and a killed server loses nothing
            // the kernel already has. Commits stay synchronous (a write to the WAL, without fsync):
            // with `synchronous_commit=off` a SIGKILL loses the last commits, and the tests that
            // kill the server would prove nothing.
            .args(["-c", "fsync=off", "-c", "full_page_writes=off"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("server.log"))
            .stderr(log)
            .spawn()
            .map_err(|e| format!("postgres did not run: {e}"))?;
        self.tell_watchdog(child.id());
        let started = Instant::now();
        loop {
            if self.is_ready(child.id()) {
                *lock(&self.server) = Some(child);
                self.killed.store(false, Ordering::SeqCst);
                return Ok(());
            }
            let exited = child.try_wait().ok().flatten();
            if exited.is_some() || started.elapsed() > limit {
                let _ = child.kill();
                let _ = child.wait();
                self.tell_watchdog(0);
                return Err(format!("{exited:?}; its log ends with:\n{}", self.log_tail()));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The postmaster writes `ready` on line 8 of `postmaster.pid` once it accepts connections
    /// (what `pg_ctl -w` waits for).
    fn is_ready(&self, pid: u32) -> bool {
        let Ok(status) = std::fs::read_to_string(self.data().join("postmaster.pid")) else { return false };
        let lines: Vec<&str> = status.lines().collect();
        lines.first() == Some(&pid.to_string().as_str()) && lines.get(7).is_some_and(|l| l.trim() == "ready")
    }

    /// The end of the server's log, for a failure's message.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    fn tell_watchdog(&self, pid: u32) {
        if let Some((_, stdin)) = lock(&self.watchdog).as_mut() {
            let _ = writeln!(stdin, "{pid}");
        }
    }

    /// Stops the server, removes its directory and lets the watchdog go.
    fn shut_down(&self) {
        // A killed server leaves its System V shared memory segment behind; a start clears it.
        if self.killed.load(Ordering::SeqCst) && self.pid().is_none() {
            let _ = self.start_again(Duration::from_secs(10));
        }
        self.stop();
        let _ = std::fs::remove_dir_all(self.dir.path());
        if let Some((mut watchdog, stdin)) = lock(&self.watchdog).take() {
            drop(stdin);
            let _ = watchdog.wait();
        }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.shut_down();
    }
}

fn exits_within(child: &mut Child, limit: Duration) -> bool {
    let started = Instant::now();
    while started.elapsed() < limit {
        if child.try_wait().ok().flatten().is_some() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

/// The directory holding `initdb` and `postgres`: `pg_config --bindir`, else the newest
/// `/usr/lib/postgresql/VERSION/bin` (Debian keeps them there, off the PATH), else the PATH.
fn binaries() -> Option<PathBuf> {
    let has_both = |dir: &Path| dir.join("initdb").is_file() && dir.join("postgres").is_file();
    let from_pg_config = Command::new("pg_config")
        .arg("--bindir")
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
    if let Some(dir) = from_pg_config.filter(|dir| has_both(dir)) {
        return Some(dir);
    }
    let mut debian: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.split('.').next()?.parse().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, dir)| has_both(dir))
        .collect();
    debian.sort();
    if let Some((_, dir)) = debian.pop() {
        return Some(dir);
    }
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()).find(|dir| has_both(dir))
}

/// The postgres user's uid and gid when the tests run as root; `None` otherwise (the server then
/// runs as the tests' own user).
fn postgres_user() -> Option<(u32, u32)> {
    let id = |args: &[&str]| -> Option<u32> {
        let out = Command::new("id").args(args).output().ok().filter(|out| out.status.success())?;
        String::from_utf8_lossy(&out.stdout).trim().parse().ok()
    };
    if id(&["-u"]) != Some(0) {
        return None;
    }
    let user = id(&["-u", "postgres"]).zip(id(&["-g", "postgres"]));
    assert!(
        user.is_some(),
        "PostgreSQL refuses to run as root and there is no postgres user to run it as: \
         `apt-get install postgresql` creates one"
    );
    user
}

/// A port nobody listens on at the moment, on 127.0.0.1.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}
