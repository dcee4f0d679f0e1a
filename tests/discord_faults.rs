//! Discord failing the bot: errors on the callback (gateway mode: in serve mode the first answer
//! is the HTTP response), the edit and the follow-up (both modes), and a gateway connection
//! dropped without a close or left without heartbeat ACKs. The user gets what can still be
//! given, nothing panics, the next interaction is served, and every attempted action keeps its
//! audit line.

mod common;

use std::time::Duration;

use common::bot::*;
use common::fake_discord::{FakeDiscord, APPLICATION_ID};
use common::settings;
use serde_json::json;
use wsc_bot::wsc::sim::Phase;
use wsc_bot::wsc::Operation;

#[tokio::test]
async fn a_failed_callback_does_nothing_and_the_next_interaction_is_served() {
    let bot = start_bot(settings(), 5).await;
    // The first sentinel lists from WSC; the second, a moment later, from that fresh list.
    for (status, sentinel) in [(500, vec![Some(Operation::List)]), (429, vec![])] {
        bot.discord.fail_next("POST", "/callback", status, 1);
        let id = bot.command(&viewer(), "jobs", json!([])).await;
        assert_eq!(bot.callback(id).await.status, status);
        // The sentinel: the next interaction, served in full. WSC saw its list and nothing else.
        bot.still_serves().await;
        let seen: Vec<_> = bot.sim.requests().into_iter().map(|r| r.operation).collect();
        assert_eq!(seen, sentinel, "no WSC call after a failed acknowledgement ({status})");
        bot.sim.clear_requests();
    }
    // A confirm whose acknowledgement fails stops nothing, and is audited.
    let ask = bot.command(&operator(), "stop", instance_arg(SCANNING)).await;
    let confirmation = bot.original(ask).await;
    bot.discord.fail_next("POST", "/callback", 500, 1);
    bot.click(&operator(), &format!("wsc:v1:confirm-stop:{SCANNING}"), confirmation).await;
    bot.audit_line("unanswered", SCANNING).await;
    assert!(bot.sim.requests_for(Operation::Stop).is_empty());
    bot.still_serves().await;
    bot.finish().await;
}

#[tokio::test]
async fn failed_edits_and_follow_ups_leave_the_action_done_and_audited() {
    for front in FRONTS {
        let bot = start_bot_in(front, FakeDiscord::start().await, settings(), 5, &[]).await;
        edits_and_follow_ups_fail(&bot).await;
        bot.finish().await;
    }
    assert_eq!(common::panics(), 0);
}

async fn edits_and_follow_ups_fail(bot: &Bot) {
    for (instance, method, path, status, times) in
        [(SCANNING, "PATCH", "/messages/@original", 500, 1), (CRAWLING, "POST", "/api/v10/webhooks/", 429, 2)]
    {
        let ask = bot.command(&operator(), "stop", instance_arg(instance)).await;
        let confirmation = bot.original(ask).await;
        bot.discord.fail_next(method, path, status, times);
        let confirm = bot.click(&operator(), &format!("wsc:v1:confirm-stop:{instance}"), confirmation).await;
        assert!(
            bot.discord.wait_until(|_| bot.sim.phase(instance) == Some(Phase::Stopping), WAIT).await,
            "the stop went through despite Discord's {status} on {method} {path}"
        );
        // The team hears of it all the same: its message is tried again.
        let team = format!("/api/v10/webhooks/{}/token-{confirm}", common::fake_discord::APPLICATION_ID);
        bot.call("the team's message", |c| c.method == "POST" && c.path == team && c.status < 300).await;
    }
    for instance in [SCANNING, CRAWLING] {
        bot.audit_line("done", instance).await;
    }
    assert_eq!(bot.sim.requests_for(Operation::Stop).len(), 2);
    bot.still_serves().await;
}

/// The core's one rule for what is tried again, through the REST adapter of both front ends: a
/// 4xx on the team's message is final, a 429 is tried again after the wait Discord asked for.
#[tokio::test]
async fn a_refused_follow_up_is_not_tried_again_and_a_rate_limited_one_waits_what_discord_asked() {
    for front in FRONTS {
        let bot = start_bot_in(front, FakeDiscord::start().await, settings(), 5, &[]).await;
        let team = |confirm: u64| format!("/api/v10/webhooks/{APPLICATION_ID}/token-{confirm}");
        let posts = |confirm: u64| {
            let path = team(confirm);
            bot.discord
                .rest_calls()
                .into_iter()
                .filter(|c| c.method == "POST" && c.path == path)
                .collect::<Vec<_>>()
        };

        let ask = bot.command(&operator(), "stop", instance_arg(SCANNING)).await;
        let confirmation = bot.original(ask).await;
        bot.discord.fail_next("POST", "/api/v10/webhooks/", 403, 1);
        let confirm = bot.click(&operator(), &format!("wsc:v1:confirm-stop:{SCANNING}"), confirmation).await;
        // The audit line is posted after the team's message, however that ended: the sentinel.
        bot.audit_line("done", SCANNING).await;
        let statuses: Vec<u16> = posts(confirm).iter().map(|c| c.status).collect();
        assert_eq!(statuses, [403], "a 403 is final: the team's message is not sent again ({front:?})");

        let ask = bot.command(&operator(), "stop", instance_arg(CRAWLING)).await;
        let confirmation = bot.original(ask).await;
        let wait = Duration::from_millis(1500);
        bot.discord.rate_limit_next("POST", "/api/v10/webhooks/", wait, 1);
        let confirm = bot.click(&operator(), &format!("wsc:v1:confirm-stop:{CRAWLING}"), confirmation).await;
        let path = team(confirm);
        bot.call("the team's message", |c| c.method == "POST" && c.path == path && c.status < 300).await;
        let calls = posts(confirm);
        assert_eq!(calls.iter().map(|c| c.status).collect::<Vec<_>>()[..2], [429, 200], "{front:?}");
        let waited = calls[1].at.duration_since(calls[0].at);
        assert!(
            waited >= wait && waited < wait + Duration::from_secs(1),
            "tried again {waited:?} after a 429 asking for {wait:?} ({front:?})"
        );
        bot.audit_line("done", CRAWLING).await;
        bot.finish().await;
    }
}

#[tokio::test]
async fn an_abrupt_gateway_close_is_resumed() {
    let bot = start_bot(settings(), 5).await;
    bot.discord.close_abruptly();
    assert!(bot.discord.wait_stats(|s| s.resumes >= 1, WAIT).await, "serenity resumed");
    bot.still_serves().await;
    bot.finish().await;
}

#[tokio::test]
async fn missing_heartbeat_acks_make_the_bot_reconnect() {
    use common::fake_discord::FakeConfig;
    let config = FakeConfig { heartbeat_interval: Duration::from_millis(500), ..FakeConfig::default() };
    let bot = start_bot_on(FakeDiscord::start_with(config).await, settings(), 5, &[]).await;
    bot.discord.stop_heartbeat_acks(true);
    // serenity notices the missing ACK at its next heartbeat, then reconnects (its shard queue
    // waits about 5 s between connections).
    assert!(bot.discord.wait_stats(|s| s.connections >= 2, Duration::from_secs(20)).await, "reconnected");
    bot.discord.stop_heartbeat_acks(false);
    assert!(bot.discord.wait_ready(Duration::from_secs(20)).await);
    bot.still_serves().await;
    bot.finish().await;
}
