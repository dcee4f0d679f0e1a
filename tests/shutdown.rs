//! Shutdown of the real binary in both front ends, with a watch channel configured: SIGTERM
//! stops background work at once, and a confirm in flight still completes before the process
//! exits 0, well within Docker's 10 s grace period.

mod common;

use std::time::Duration;

use common::bot::{start_process_in, Front, FRONTS, SCANNING, WAIT};
use common::fake_discord::{FakeDiscord, APPLICATION_ID, CHANNEL_ID};
use common::settings;
use tokio::io::AsyncWriteExt;
use wsc_bot::wsc::sim::{Fault, Phase};
use wsc_bot::wsc::Operation;

fn watching() -> Vec<(&'static str, String)> {
    vec![("WSC_WATCH_CHANNEL_ID", CHANNEL_ID.to_string())]
}

async fn until(what: &str, cond: impl Fn() -> bool) {
    let waited = async {
        while !cond() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(WAIT, waited).await.unwrap_or_else(|_| panic!("{what}"));
}

#[tokio::test]
async fn sigterm_with_nothing_in_flight_exits_0_within_a_second_though_the_watcher_never_ends() {
    for front in FRONTS {
        let (bot, mut process) =
            start_process_in(front, FakeDiscord::start().await, settings(), 5, &watching()).await;
        // The watcher has taken its baseline and waits for the next poll, a minute away.
        until("the watcher polled", || !bot.sim.requests_for(Operation::List).is_empty()).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        let took = process.terminate_and_exit_0(Duration::from_secs(12), &format!("{front:?}")).await;
        assert!(took < Duration::from_secs(1), "{front:?}: took {took:?}");
        bot.finish().await;
    }
}

#[tokio::test]
async fn sigterm_during_an_in_flight_stop_lets_it_complete_and_exits_0() {
    for front in FRONTS {
        let mut settings = settings();
        settings.faults = vec![(Operation::Stop, Fault { latency_ms: 2_000, ..Fault::default() })];
        let (bot, mut process) =
            start_process_in(front, FakeDiscord::start().await, settings, 5, &watching()).await;
        let confirm = bot.confirm_stop(SCANNING).await;
        assert_eq!(bot.callback(confirm).await.body["type"], 7, "{front:?}: the confirmation is updated");
        // The stop is now waiting on WSC: ask the process to stop.
        until("the stop reached WSC", || !bot.sim.requests_for(Operation::Stop).is_empty()).await;
        // More than 8 s would mean the drain waited for the watcher.
        let took =
            process.terminate_and_exit_0(Duration::from_secs(8), &format!("{front:?}, draining")).await;
        assert!(took >= Duration::from_millis(1_000), "{front:?}: waited for the stop ({took:?})");
        assert_eq!(bot.sim.phase(SCANNING), Some(Phase::Stopping), "{front:?}: the stop completed");
        assert_eq!(bot.sim.requests_for(Operation::Stop).len(), 1);
        let calls = bot.discord.rest_calls();
        let edited = format!("/token-{confirm}/messages/@original");
        assert!(
            calls.iter().any(|c| c.method == "PATCH" && c.path.ends_with(&edited) && c.status < 300),
            "{front:?}: the operator's outcome was edited in before exit"
        );
        let followup = format!("/api/v10/webhooks/{APPLICATION_ID}/token-{confirm}");
        let told =
            calls.iter().find(|c| c.method == "POST" && c.path == followup).expect("the team was told");
        assert!(told.body["content"].as_str().unwrap().contains("stopped the scan of"), "{:#}", told.body);
        bot.finish().await;
    }
}

#[tokio::test]
async fn sigterm_does_not_wait_for_a_client_that_never_finishes_its_request() {
    let (bot, mut process) =
        start_process_in(Front::Serve, FakeDiscord::start().await, settings(), 5, &watching()).await;
    let address = bot.endpoint.as_deref().unwrap().trim_start_matches("http://").to_owned();
    let mut slow = tokio::net::TcpStream::connect(address).await.unwrap();
    slow.write_all(b"POST /interactions HTTP/1.1\r\nHost: bot\r\n").await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Its headers may take 30 s; shutdown gives a request under way 3 s.
    let took = process.terminate_and_exit_0(Duration::from_secs(12), "a client mid-request").await;
    assert!(took < Duration::from_secs(5), "took {took:?}");
    bot.finish().await;
}
