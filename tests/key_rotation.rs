//! Rotating the NCP key without a restart: with the keys in files, a key NCP refuses makes the
//! client read the files again and try the call once more with what they now hold.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::secrets::{ROTATED_ACCESS_KEY, ROTATED_SECRET_KEY};
use common::{settings, start_sim, KeyFiles, ACCESS_KEY, SECRET_KEY};
use serde_json::json;
use wsc_bot::config::Config;
use wsc_bot::wsc::sim::{Phase, SimHandle};
use wsc_bot::wsc::{ErrorKind, Operation, Reload, WscClient};

/// A client configured as the binary would be, with its keys in `files`.
fn client_from_files(sim: &SimHandle, files: &KeyFiles) -> WscClient {
    let mut vars: HashMap<&str, String> = files.vars().into_iter().collect();
    vars.insert("WSC_API_BASE", sim.base_url());
    vars.insert("WSC_REQUEST_TIMEOUT_SECS", "5".into());
    let config = Config::from_lookup(|name| vars.get(name).cloned()).unwrap();
    WscClient::new(config.wsc_client_settings().unwrap(), wsc_bot::metrics::Metrics::new()).unwrap()
}

/// NCP accepts only this pair from now on (the simulator's control route).
async fn rotate_at_ncp(sim: &SimHandle, access: &str, secret: &str) {
    let response = reqwest::Client::new()
        .put(format!("{}/_sim/keys", sim.base_url()))
        .json(&json!({"access_key": access, "secret_key": secret}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
}

/// What the gateway made of each request: accepted, or why not.
fn verdicts(sim: &SimHandle, operation: Operation) -> Vec<Option<String>> {
    sim.requests_for(operation).into_iter().map(|r| r.auth_error).collect()
}

#[tokio::test]
async fn a_refused_key_makes_the_client_read_its_files_again_and_succeed_without_a_restart() {
    let sim = start_sim(settings()).await;
    let files = KeyFiles::new("retry");
    let wsc = client_from_files(&sim, &files);
    let clone = wsc.clone();
    assert_eq!(wsc.list_jobs(1, 5).await.unwrap().jobs.len(), 5);

    rotate_at_ncp(&sim, ROTATED_ACCESS_KEY, ROTATED_SECRET_KEY).await;
    files.write(ROTATED_ACCESS_KEY, ROTATED_SECRET_KEY);
    sim.clear_requests();
    assert_eq!(wsc.list_jobs(1, 5).await.unwrap().jobs.len(), 5, "the list succeeds with the new key");
    assert_eq!(verdicts(&sim, Operation::List), [Some("unknown access key".to_owned()), None]);
    // Every clone (the core's, the cache's, the watcher's) signs with the new key from now on.
    clone.list_jobs(1, 5).await.unwrap();
    assert_eq!(verdicts(&sim, Operation::List).len(), 3, "no second refusal");

    // A stop too: the gateway refused it before WSC saw it, so it is sent again, once.
    rotate_at_ncp(&sim, ACCESS_KEY, SECRET_KEY).await;
    files.write(ACCESS_KEY, SECRET_KEY);
    wsc.stop_job(1000000006).await.unwrap();
    assert_eq!(verdicts(&sim, Operation::Stop), [Some("unknown access key".to_owned()), None]);
    assert_eq!(sim.phase(1000000006), Some(Phase::Stopping));
}

#[tokio::test]
async fn a_refused_key_is_reported_when_the_files_hold_nothing_new_or_another_refused_key() {
    let sim = start_sim(settings()).await;
    let files = KeyFiles::new("refused");
    let wsc = client_from_files(&sim, &files);
    rotate_at_ncp(&sim, ROTATED_ACCESS_KEY, ROTATED_SECRET_KEY).await;

    // The files were not rewritten: one call, reported.
    let error = wsc.list_jobs(1, 5).await.unwrap_err();
    assert_eq!((error.kind, error.code.as_deref()), (ErrorKind::Credentials, Some("200")));
    assert_eq!(sim.requests_for(Operation::List).len(), 1);
    // They hold another key NCP refuses as well: tried once more, then reported.
    files.write("AK-yet-another", "SK-yet-another");
    assert_eq!(wsc.list_jobs(1, 5).await.unwrap_err().kind, ErrorKind::Credentials);
    assert_eq!(sim.requests_for(Operation::List).len(), 3);
    // They cannot be read: the keys in use stay, and the refusal is reported.
    std::fs::remove_file(&files.secret).unwrap();
    assert_eq!(wsc.reload_keys(), Reload::Failed);
    assert_eq!(wsc.list_jobs(1, 5).await.unwrap_err().kind, ErrorKind::Credentials);
    assert_eq!(sim.requests_for(Operation::List).len(), 4);
    // Rewritten and read again (as on SIGHUP): the next call goes through at once.
    files.write(ROTATED_ACCESS_KEY, ROTATED_SECRET_KEY);
    assert_eq!(wsc.reload_keys(), Reload::Changed);
    assert_eq!(wsc.reload_keys(), Reload::Unchanged);
    wsc.list_jobs(1, 5).await.unwrap();
    assert_eq!(sim.requests_for(Operation::List).len(), 5);
}

#[tokio::test]
async fn keys_from_the_environment_are_never_reloaded() {
    let sim = start_sim(settings()).await;
    let wsc = common::client(&sim);
    assert_eq!(wsc.reload_keys(), Reload::NoSource);
    rotate_at_ncp(&sim, ROTATED_ACCESS_KEY, ROTATED_SECRET_KEY).await;
    let error = tokio::time::timeout(Duration::from_secs(5), wsc.list_jobs(1, 5)).await.unwrap().unwrap_err();
    assert_eq!(error.kind, ErrorKind::Credentials);
    assert_eq!(sim.requests_for(Operation::List).len(), 1);
}
