//! The binary as a person runs it: `wsc-bot check` and `wsc-bot simulate`.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};

use common::{client, settings, start_sim, ACCESS_KEY, SECRET_KEY};
use wsc_bot::wsc::sim::SettingsPatch;
use wsc_bot::wsc::{ErrorKind, Operation};

/// Runs the binary with only `vars` in its environment (and the test's `RUST_LOG` and
/// `LOG_FORMAT`, so `scripts/secret-scan` sees what it logs), away from any `.env`.
fn wsc_bot(args: &[&str], vars: &[(&str, &str)]) -> Command {
    common::process::command(args, vars.iter().copied())
}

/// The output of a finished run, also written to the test's stderr for `scripts/secret-scan`.
fn shown(output: Output) -> Output {
    eprint!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    output
}

async fn check(vars: Vec<(&'static str, String)>) -> (i32, String, String) {
    let output: Output = tokio::task::spawn_blocking(move || {
        let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        shown(wsc_bot(&["check"], &vars).output().unwrap())
    })
    .await
    .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn vars(base: &str, access: &str, secret: &str) -> Vec<(&'static str, String)> {
    vec![
        ("WSC_API_BASE", base.to_owned()),
        ("NCP_ACCESS_KEY", access.to_owned()),
        ("NCP_SECRET_KEY", secret.to_owned()),
        ("WSC_OPERATOR_ROLE_IDS", "111111111111111111".to_owned()),
        ("WSC_REQUEST_TIMEOUT_SECS", "3".to_owned()),
        ("DISCORD_GUILD_ID", "222222222222222222".to_owned()),
    ]
}

#[tokio::test]
async fn check_reports_success_against_the_simulator() {
    let sim = start_sim(settings()).await;
    let (code, out, _) = check(vars(&sim.base_url(), ACCESS_KEY, SECRET_KEY)).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("the keys were accepted and 8 jobs are visible"), "{out}");
    assert!(out.contains("clock: within a few seconds"), "{out}");
    assert!(out.contains("operators: roles 111111111111111111"), "{out}");
    assert!(out.contains("ok    guilds: serves guild 222222222222222222 only"), "{out}");
    assert!(out.contains("warn  viewers: WSC_VIEWER_ROLE_IDS is empty, so every member"), "{out}");
    assert!(out.trim_end().ends_with("All is well."), "{out}");
    assert_eq!(sim.requests().len(), 1, "check calls WSC once");
}

#[tokio::test]
async fn check_says_the_credentials_were_refused() {
    let sim = start_sim(settings()).await;
    for (access, secret) in [(ACCESS_KEY, "wrong-secret"), ("wrong-access", SECRET_KEY)] {
        let (code, out, err) = check(vars(&sim.base_url(), access, secret)).await;
        assert_eq!(code, 1, "{out}");
        assert!(out.contains("the credentials were refused"), "{out}");
        assert!(!out.contains(SECRET_KEY) && !err.contains(SECRET_KEY));
    }
}

#[tokio::test]
async fn check_names_the_clock_offset() {
    let sim = start_sim(settings()).await;
    sim.update(SettingsPatch { clock_offset_secs: Some(400), ..Default::default() }).unwrap();
    let (code, out, _) = check(vars(&sim.base_url(), ACCESS_KEY, SECRET_KEY)).await;
    assert_eq!(code, 1, "{out}");
    // 400 s, read from a Date header of one-second resolution.
    assert!(
        out.contains("this machine's clock is 6 min 39 s")
            || out.contains("this machine's clock is 6 min 40 s"),
        "{out}"
    );
    assert!(out.contains("behind WSC's") && out.contains("5 minutes or more"), "{out}");
    assert!(out.contains("most likely because of the clock difference"), "{out}");
}

#[tokio::test]
async fn check_says_the_policy_seems_missing() {
    let sim = start_sim(settings()).await;
    sim.set_fault(
        Operation::List,
        wsc_bot::wsc::sim::Fault {
            error: Some(wsc_bot::wsc::sim::FaultError::Wsc(169201)),
            ..Default::default()
        },
    );
    let (code, out, _) = check(vars(&sim.base_url(), ACCESS_KEY, SECRET_KEY)).await;
    assert_eq!(code, 1);
    assert!(out.contains("NCP_WEB_SECURITY_CHECKER_MANAGER seems missing"), "{out}");
}

#[tokio::test]
async fn check_says_a_dead_host_is_unreachable() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (code, out, _) = check(vars(&format!("http://127.0.0.1:{port}"), ACCESS_KEY, SECRET_KEY)).await;
    assert_eq!(code, 1);
    assert!(out.contains(&format!("the WSC host http://127.0.0.1:{port}/ is unreachable")), "{out}");
}

#[tokio::test]
async fn check_fails_without_operator_roles() {
    let sim = start_sim(settings()).await;
    let mut vars = vars(&sim.base_url(), ACCESS_KEY, SECRET_KEY);
    vars.retain(|(k, _)| *k != "WSC_OPERATOR_ROLE_IDS");
    let (code, out, _) = check(vars).await;
    assert_eq!(code, 1);
    assert!(out.contains("nobody can cancel or stop"), "{out}");
}

#[tokio::test]
async fn check_names_the_guilds_and_fails_without_them() {
    let sim = start_sim(settings()).await;
    let mut vars = vars(&sim.base_url(), ACCESS_KEY, SECRET_KEY);
    vars.push(("WSC_VIEWER_ROLE_IDS", "333333333333333333".to_owned()));
    vars.retain(|(k, _)| *k != "DISCORD_GUILD_ID");
    vars.push(("DISCORD_GUILD_ID", "222222222222222222, 444444444444444444".to_owned()));
    let (code, out, _) = check(vars.clone()).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("guilds: serves guilds 222222222222222222, 444444444444444444 only"), "{out}");
    assert!(out.contains("ok    viewers: roles 333333333333333333"), "{out}");
    vars.retain(|(k, _)| *k != "DISCORD_GUILD_ID");
    let (code, out, _) = check(vars).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAIL  guilds: DISCORD_GUILD_ID is not set"), "{out}");
}

#[test]
fn run_serve_and_register_refuse_to_start_without_a_guild() {
    let everything_else = [
        ("DISCORD_TOKEN", "t"),
        ("DISCORD_APPLICATION_ID", "1"),
        ("DISCORD_PUBLIC_KEY", &"ab".repeat(32)),
        ("NCP_ACCESS_KEY", "a"),
        ("NCP_SECRET_KEY", "b"),
        ("WSC_API_BASE", "http://127.0.0.1:9"),
        ("DISCORD_API_BASE", "http://127.0.0.1:9"),
        ("WSC_HTTP_LISTEN", "127.0.0.1:0"),
    ];
    for args in [&["run"][..], &["serve"], &["register"], &["run", "--demo"], &["serve", "--demo"], &[]] {
        let output = wsc_bot(args, &everything_else).stdin(Stdio::null()).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.starts_with("error: DISCORD_GUILD_ID is not set: the bot serves only its own team"),
            "{stderr}"
        );
    }
}

#[tokio::test]
async fn register_puts_the_commands_in_every_listed_guild() {
    use common::fake_discord::{FakeDiscord, APPLICATION_ID};
    let discord = FakeDiscord::start().await;
    let base = discord.api_base();
    let output = tokio::task::spawn_blocking(move || {
        let application = APPLICATION_ID.to_string();
        let vars = [
            ("DISCORD_TOKEN", "fake-discord-token-never-logged"),
            ("DISCORD_APPLICATION_ID", application.as_str()),
            ("DISCORD_API_BASE", base.as_str()),
            ("DISCORD_GUILD_ID", "111111111111111111,222222222222222222"),
        ];
        wsc_bot(&["register"], &vars).output().unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout} {}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("in guild(s) 111111111111111111, 222222222222222222"), "{stdout}");
    for guild in [111111111111111111, 222222222222222222] {
        let names: Vec<_> = discord.commands(Some(guild)).iter().map(|c| c["name"].clone()).collect();
        assert_eq!(names, ["wsc"], "guild {guild}");
    }
    assert!(discord.commands(None).is_empty(), "never globally");
    discord.assert_clean().await;
}

#[test]
fn bad_configuration_is_one_line_naming_the_variable() {
    type Vars<'a> = &'a [(&'a str, &'a str)];
    let cases: [(&str, Vars, &str); 5] = [
        ("check", &[("NCP_ACCESS_KEY", "a")], "NCP_SECRET_KEY"),
        ("check", &[("WSC_REQUEST_TIMEOUT_SECS", "soon")], "WSC_REQUEST_TIMEOUT_SECS"),
        ("check", &[("WSC_OPERATOR_ROLE_IDS", "On-call")], "WSC_OPERATOR_ROLE_IDS"),
        ("check", &[("RUST_LOG", "wsc_bot=loud")], "RUST_LOG"),
        ("simulate", &[("NCP_SECRET_KEY", "b")], "NCP_ACCESS_KEY"),
    ];
    for (command, vars, var) in cases {
        let output = shown(wsc_bot(&[command], vars).stdin(Stdio::null()).output().unwrap());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{command} {vars:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.starts_with(&format!("error: {var} ")), "{stderr}");
    }
}

struct Simulator(Child, String);

impl Drop for Simulator {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn simulate(extra: &[&str]) -> Simulator {
    let seed = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/seed.json");
    let mut args = vec!["simulate", "--listen", "127.0.0.1:0", "--seed-file", seed];
    args.extend_from_slice(extra);
    let mut child = wsc_bot(&args, &[("NCP_ACCESS_KEY", ACCESS_KEY), ("NCP_SECRET_KEY", SECRET_KEY)])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let base = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("the banner names the URL")
        .to_owned();
    Simulator(child, base)
}

#[tokio::test]
async fn simulate_serves_a_seed_file_with_flags_and_control_routes() {
    let sim = simulate(&[
        "--lang",
        "ko",
        "--fault",
        "stop=error=wsc:901",
        "--wsc-error-status",
        "400",
        "--extra-jobs",
        "20",
    ]);
    let wsc = common::client_with(&sim.1, ACCESS_KEY, SECRET_KEY, std::time::Duration::from_secs(5));
    let page = wsc.list_jobs(1, 100).await.unwrap();
    assert_eq!(page.total, 23);
    let seeded = page.jobs.iter().find(|j| j.instance_no == 501).unwrap();
    assert_eq!((seeded.status_label.as_str(), seeded.memo.as_deref()), ("진단 진행 중", Some("seeded scan")));

    let error = wsc.stop_job(501).await.unwrap_err();
    assert_eq!((error.kind, error.http_status), (ErrorKind::NotApplicable, Some(400)), "the --fault flag");

    let http = reqwest::Client::new();
    let status = http.delete(format!("{}/_sim/faults", sim.1)).send().await.unwrap().status();
    assert_eq!(status, 204);
    wsc.stop_job(501).await.expect("stops once the fault is cleared");
    let put = http
        .put(format!("{}/_sim/faults/list", sim.1))
        .json(&serde_json::json!({"error": "gateway:420"}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 204);
    assert_eq!(wsc.list_jobs(1, 1).await.unwrap_err().kind, ErrorKind::RateLimited);
    http.delete(format!("{}/_sim/faults", sim.1)).send().await.unwrap();
    http.post(format!("{}/_sim/advance", sim.1)).json(&serde_json::json!({"secs": 60})).send().await.unwrap();
    let jobs: serde_json::Value =
        http.get(format!("{}/_sim/jobs", sim.1)).send().await.unwrap().json().await.unwrap();
    let phase =
        |id: u64| jobs.as_array().unwrap().iter().find(|j| j["instance_no"] == id).unwrap()["phase"].clone();
    assert_eq!(phase(501), "stopped");
    assert_eq!(phase(502), "crawl-pending", "the scheduled job started after 60 s");

    let requests: serde_json::Value =
        http.get(format!("{}/_sim/requests", sim.1)).send().await.unwrap().json().await.unwrap();
    let stops = requests.as_array().unwrap().iter().filter(|r| r["operation"] == "stop").count();
    assert_eq!(stops, 2);
    let bad = http
        .put(format!("{}/_sim/settings", sim.1))
        .json(&serde_json::json!({"wsc_error_status": 302}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let skew = http
        .put(format!("{}/_sim/settings", sim.1))
        .json(&serde_json::json!({"clock_offset_secs": -400}))
        .send()
        .await
        .unwrap();
    assert_eq!(skew.status(), 204);
    let (code, out, _) = check(vars(&sim.1, ACCESS_KEY, SECRET_KEY)).await;
    assert_eq!(code, 1);
    assert!(out.contains("ahead of WSC's"), "{out}");
}

#[test]
fn simulate_refuses_a_bad_seed_file_and_bad_flags() {
    let missing = shown(
        wsc_bot(
            &["simulate", "--seed-file", "/nonexistent/seed.json"],
            &[("NCP_ACCESS_KEY", "a"), ("NCP_SECRET_KEY", "b")],
        )
        .output()
        .unwrap(),
    );
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("--seed-file"));
    let bad_fault = shown(wsc_bot(&["simulate", "--fault", "stop=error=boom"], &[]).output().unwrap());
    assert_eq!(bad_fault.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad_fault.stderr).contains("is not a fault"));
}

#[tokio::test]
async fn the_in_process_simulator_and_the_client_agree() {
    let sim = start_sim(settings()).await;
    assert_eq!(client(&sim).list_jobs(1, 1).await.unwrap().total, 8);
}

#[test]
fn serve_refuses_channels_it_could_not_post_to_without_a_token() {
    let key = common::serve::public_key_hex();
    let base: [(&str, &str); 5] = [
        ("DISCORD_PUBLIC_KEY", &key),
        ("DISCORD_APPLICATION_ID", "900000000000000001"),
        ("DISCORD_GUILD_ID", "900000000000000003"),
        ("NCP_ACCESS_KEY", ACCESS_KEY),
        ("NCP_SECRET_KEY", SECRET_KEY),
    ];
    for var in ["WSC_WATCH_CHANNEL_ID", "WSC_AUDIT_CHANNEL_ID"] {
        let mut vars = base.to_vec();
        vars.extend([(var, "900000000000000004"), ("WSC_HTTP_LISTEN", "127.0.0.1:0")]);
        let mut child = wsc_bot(&["serve"], &vars)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let started = std::time::Instant::now();
        while child.try_wait().unwrap().is_none() && started.elapsed() < std::time::Duration::from_secs(5) {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        // Still running means it started: stop it (SIGKILL by pid) and fail below.
        let _ = child.kill();
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{var}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.starts_with(&format!("error: {var} ")) && stderr.contains("DISCORD_TOKEN"),
            "{stderr}"
        );
        assert!(output.stdout.is_empty(), "nothing started");
    }
}
