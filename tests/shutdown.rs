//! Shutdown of the real binary: SIGTERM lets a confirm in flight complete before the process
//! exits 0.

mod common;

use std::time::Duration;

use common::bot::{start_process_in, Front, SCANNING, WAIT};
use common::fake_discord::{FakeDiscord, APPLICATION_ID};
use common::settings;
use wsc_bot::wsc::sim::{Fault, Phase};
use wsc_bot::wsc::Operation;

async fn until(what: &str, cond: impl Fn() -> bool) {
    let waited = async {
        while !cond() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(WAIT, waited).await.unwrap_or_else(|_| panic!("{what}"));
}

#[tokio::test]
async fn sigterm_during_an_in_flight_stop_lets_it_complete_and_exits_0() {
    let mut settings = settings();
    settings.faults = vec![(Operation::Stop, Fault { latency_ms: 1_500, ..Fault::default() })];
    let (bot, mut process) =
        start_process_in(Front::Serve, FakeDiscord::start().await, settings, 5, &[]).await;
    let confirm = bot.confirm_stop(SCANNING).await;
    assert_eq!(bot.callback(confirm).await.body["type"], 7, "the confirmation is updated");
    // The stop is now waiting on WSC: ask the process to stop.
    until("the stop reached WSC", || !bot.sim.requests_for(Operation::Stop).is_empty()).await;
    process.terminate();
    let (code, _) = process.exit_within(Duration::from_secs(15)).await.expect("the bot exits");
    assert_eq!(code, Some(0), "exits 0 after draining: {}", process.log());
    assert_eq!(bot.sim.phase(SCANNING), Some(Phase::Stopping), "the stop completed");
    let followup = format!("/api/v10/webhooks/{APPLICATION_ID}/token-{confirm}");
    assert!(bot.discord.rest_calls().iter().any(|c| c.path == followup), "the team was told before exit");
}
