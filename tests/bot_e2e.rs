//! End to end: the real serenity client (`wsc-bot run`'s code) against a fake Discord on
//! 127.0.0.1 (REST and gateway websocket) and the WSC simulator.

mod common;

use std::time::{Duration, Instant};

use common::bot::*;
use common::fake_discord::{self, FakeDiscord, Member, CHANNEL_ID, GUILD_ID};
use common::settings;
use serde_json::json;
use wsc_bot::wsc::sim::{Fault, FaultError, Phase, SeedJob};
use wsc_bot::wsc::Operation;

#[tokio::test]
async fn registers_a_valid_guild_only_command() {
    let bot = start_bot(settings(), 5).await;
    let path = format!("/api/v10/applications/{}/guilds/{GUILD_ID}/commands", fake_discord::APPLICATION_ID);
    let call = bot.call("registration", |c| c.method == "PUT" && c.path == path).await;
    let wsc = &call.body[0];
    assert_eq!(wsc["name"], "wsc");
    assert_eq!(wsc["contexts"], json!([0]));
    let subs: Vec<&str> =
        wsc["options"].as_array().unwrap().iter().map(|o| o["name"].as_str().unwrap()).collect();
    assert_eq!(subs, ["jobs", "cancel", "stop", "report", "audit", "scan", "stop-all"]);
    assert_eq!(
        wsc["description_localizations"]["ko"],
        "Web Security Checker 스캔: 목록, 검색, 취소, 중지, 보고서"
    );
    for sub in wsc["options"].as_array().unwrap() {
        assert!(
            sub["name_localizations"]["ko"].is_string() && sub["description_localizations"]["ko"].is_string()
        );
        for option in sub["options"].as_array().unwrap() {
            assert!(option["name_localizations"]["ko"].is_string(), "{option}");
            for choice in option["choices"].as_array().into_iter().flatten() {
                assert!(choice["name_localizations"]["ko"].is_string(), "{choice}");
            }
        }
    }
    bot.assert_payloads_valid();
    bot.finish().await;
}

#[tokio::test]
async fn a_viewer_lists_jobs_with_the_right_buttons() {
    let bot = start_bot(settings(), 5).await;
    let sent = Instant::now();
    let id = bot.command(&viewer(), "jobs", json!([])).await;
    let callback = bot.callback(id).await;
    assert!(callback.at.duration_since(sent) < Duration::from_secs(3), "acknowledged in time");
    assert_eq!(callback.body["type"], 5, "deferred before WSC is called");
    assert!(!is_ephemeral(&callback.body["data"]), "the channel sees the list");

    let message = bot.original(id).await;
    assert!(message["content"].as_str().unwrap().contains("page 1 of 2"), "{message:#}");
    let embeds = message["embeds"].as_array().unwrap();
    assert_eq!(embeds.len(), 5);
    assert_eq!(embeds[0]["title"], "https://shop.example.com/");
    assert_eq!(embeds[2]["footer"]["text"], format!("Job {SCANNING}"));
    let ids = custom_ids(&message);
    assert_eq!(
        ids,
        [
            format!("wsc:v1:cancel:{SCHEDULED}"),
            format!("wsc:v1:stop:{CRAWLING}"),
            format!("wsc:v1:stop:{SCANNING}"),
            "wsc:v1:report:1000000005".to_owned(),
            "wsc:v1:refresh:1".to_owned(),
            "wsc:v1:page:2".to_owned(),
        ],
        "Cancel only before start, Stop only while running, Report when finished"
    );
    bot.assert_payloads_valid();

    // Older ▶ edits the same message in place.
    let next = bot.click(&viewer(), "wsc:v1:page:2", message.clone()).await;
    assert_eq!(bot.callback(next).await.body["type"], 6);
    let page_two = bot.original(next).await;
    assert!(page_two["content"].as_str().unwrap().contains("page 2 of 2"));
    assert_eq!(custom_ids(&page_two), ["wsc:v1:page:1", "wsc:v1:refresh:2"]);
    bot.assert_payloads_valid();
    bot.finish().await;
}

#[tokio::test]
async fn an_operator_stops_a_scan_in_two_taps() {
    let bot = start_bot(settings(), 5).await;
    let list = bot.command(&viewer(), "jobs", json!([])).await;
    let jobs_message = bot.original(list).await;
    let jobs_message_id: u64 = jobs_message["id"].as_str().unwrap().parse().unwrap();

    // Tap 1: Stop on the running job → an ephemeral confirmation with the target in view.
    let ask = bot.click(&operator(), &format!("wsc:v1:stop:{SCANNING}"), jobs_message.clone()).await;
    let callback = bot.callback(ask).await;
    assert_eq!(callback.body["type"], 5);
    assert!(is_ephemeral(&callback.body["data"]));
    let confirmation = bot.original(ask).await;
    assert!(confirmation["content"].as_str().unwrap().contains("https://www.example.com/"));
    let confirm_id = format!("wsc:v1:confirm-stop:{SCANNING}:{jobs_message_id}");
    assert_eq!(
        custom_ids(&confirmation),
        [
            confirm_id.clone(),
            format!("wsc:v1:reason-stop:{SCANNING}:{jobs_message_id}"),
            format!("wsc:v1:keep:{SCANNING}")
        ]
    );
    assert_eq!(bot.wsc_actions(), 0, "nothing is stopped before the confirmation");

    // Tap 2: confirm → exactly one stop at WSC.
    let confirm = bot.click(&operator(), &confirm_id, confirmation).await;
    assert_eq!(bot.callback(confirm).await.body["type"], 7, "the confirmation is replaced at once");
    let outcome = bot.follow_up(confirm).await;
    assert!(!is_ephemeral(&outcome.body), "the team sees the outcome");
    let text = outcome.body["content"].as_str().unwrap();
    assert!(
        text.contains(&format!("<@{}>", operator().user_id)) && text.contains("stopped the scan of"),
        "{text}"
    );
    assert!(text.contains("https://www.example.com/") && text.contains(&SCANNING.to_string()));
    assert_eq!(outcome.body["allowed_mentions"]["parse"], json!([]), "pings nobody");
    assert_eq!(bot.sim.requests_for(Operation::Stop).len(), 1);
    assert_eq!(bot.sim.phase(SCANNING), Some(Phase::Stopping));

    // The jobs message is refreshed: the stopped job has lost its Stop button.
    let edit_path = format!("/api/v10/channels/{CHANNEL_ID}/messages/{jobs_message_id}");
    bot.call("refresh of the jobs message", |c| c.method == "PATCH" && c.path == edit_path).await;
    let refreshed = bot.discord.message(jobs_message_id).unwrap();
    assert!(!custom_ids(&refreshed).contains(&format!("wsc:v1:stop:{SCANNING}")));
    assert!(custom_ids(&refreshed).contains(&format!("wsc:v1:stop:{CRAWLING}")));

    // The audit channel has one line for it.
    let audit_path = format!("/api/v10/channels/{AUDIT_CHANNEL}/messages");
    let audit = bot.call("audit line", |c| c.method == "POST" && c.path == audit_path).await;
    let line = audit.body["content"].as_str().unwrap();
    assert!(
        line.contains("**done**") && line.contains(&SCANNING.to_string()) && !line.contains('\n'),
        "{line}"
    );
    bot.assert_payloads_valid();
    bot.finish().await;
}

#[tokio::test]
async fn an_operator_cancels_by_command() {
    let bot = start_bot(settings(), 5).await;
    let ask = bot.command(&operator(), "cancel", instance_arg(SCHEDULED)).await;
    let confirmation = bot.original(ask).await;
    let confirm_id = format!("wsc:v1:confirm-cancel:{SCHEDULED}");
    assert_eq!(custom_ids(&confirmation)[0], confirm_id, "a command has no jobs message to refresh");
    let confirm = bot.click(&operator(), &confirm_id, confirmation).await;
    let outcome = bot.follow_up(confirm).await;
    assert!(outcome.body["content"].as_str().unwrap().contains("cancelled the scan of"));
    assert_eq!(bot.sim.requests_for(Operation::Cancel).len(), 1);
    assert_eq!(bot.sim.phase(SCHEDULED), Some(Phase::Cancelled));
    bot.assert_payloads_valid();
    bot.finish().await;
}

#[tokio::test]
async fn members_without_the_role_cannot_act_by_any_path() {
    for front in FRONTS {
        let bot = start_bot_in(front, FakeDiscord::start().await, settings(), 5, &[]).await;
        no_role_no_action(&bot).await;
        bot.finish().await;
    }
}

async fn no_role_no_action(bot: &Bot) {
    let list = bot.command(&operator(), "jobs", json!([])).await;
    let jobs_message = bot.original(list).await;
    let jobs_id: u64 = jobs_message["id"].as_str().unwrap().parse().unwrap();
    // Confirmations the operator opened, to be clicked after the operator role was taken away.
    let mut confirmations = Vec::new();
    for _ in 0..2 {
        let stop_ask = bot.command(&operator(), "stop", instance_arg(SCANNING)).await;
        let cancel_ask = bot.command(&operator(), "cancel", instance_arg(SCHEDULED)).await;
        confirmations.push((bot.original(stop_ask).await, bot.original(cancel_ask).await));
    }
    bot.sim.clear_requests();
    for (member, (stop_confirmation, cancel_confirmation)) in
        [viewer(), stranger()].into_iter().zip(confirmations)
    {
        // Only the member's roles are left.
        let demoted = Member { roles: member.roles.clone(), ..operator() };
        let by_command = bot.command(&member, "stop", instance_arg(SCANNING)).await;
        let by_button = bot.click(&member, &format!("wsc:v1:stop:{SCANNING}"), jobs_message.clone()).await;
        let stop_confirm = custom_ids(&stop_confirmation)[0].clone();
        let by_confirm = bot.click(&demoted, &stop_confirm, stop_confirmation.clone()).await;
        let cancel_confirm = format!("wsc:v1:confirm-cancel:{SCHEDULED}");
        let by_cancel = bot.click(&demoted, &cancel_confirm, cancel_confirmation.clone()).await;
        for (id, on) in [
            (by_command, None),
            (by_button, None),
            (by_confirm, Some(&stop_confirmation)),
            (by_cancel, Some(&cancel_confirmation)),
        ] {
            let callback = bot.callback(id).await;
            let data = &callback.body["data"];
            let text = data["content"].as_str().unwrap_or_default().to_owned();
            assert!(
                text.contains(&format!("<@&{OPERATOR_ROLE}>")) && text.contains("Nothing was done"),
                "{text}"
            );
            assert_eq!(data["allowed_mentions"]["parse"], json!([]));
            match on {
                // A new message: the flag decides who sees it.
                None => {
                    assert_eq!(callback.body["type"], 4);
                    assert!(is_ephemeral(data), "only the member sees the refusal");
                }
                // Type 7 replaces the message the button is on, and Discord ignores its flags:
                // what matters is that the message is the confirmation only its owner sees.
                Some(confirmation) => {
                    assert_eq!(callback.body["type"], 7);
                    let message_id: u64 = confirmation["id"].as_str().unwrap().parse().unwrap();
                    let now = bot.discord.message(message_id).unwrap();
                    assert!(is_ephemeral(&now), "the refusal replaced the private confirmation");
                    assert_eq!(now["content"].as_str().unwrap(), text);
                    assert!(custom_ids(&now).is_empty(), "its buttons are gone");
                }
            }
        }
    }
    // The team's jobs message was not touched by any refusal.
    let jobs_now = bot.discord.message(jobs_id).unwrap();
    assert_eq!(
        (&jobs_now["content"], &jobs_now["embeds"], &jobs_now["components"]),
        (&jobs_message["content"], &jobs_message["embeds"], &jobs_message["components"]),
        "the public jobs message is intact"
    );
    // Every refused attempt is in the audit channel: the last thing each refusal does.
    let audit_path = format!("/api/v10/channels/{AUDIT_CHANNEL}/messages");
    let denied_lines = || {
        bot.discord
            .rest_calls()
            .iter()
            .filter(|c| {
                c.path == audit_path && c.body["content"].as_str().is_some_and(|t| t.contains("**denied**"))
            })
            .count()
    };
    assert!(bot.discord.wait_until(|_| denied_lines() == 8, WAIT).await, "{} denied lines", denied_lines());
    // A stranger cannot even list.
    let list = bot.command(&stranger(), "jobs", json!([])).await;
    assert!(bot.callback(list).await.body["data"]["content"]
        .as_str()
        .unwrap()
        .contains("You need one of the roles"));
    // The sentinel: the next interaction, served in full, from the list shown a moment ago.
    bot.still_serves().await;
    let seen: Vec<_> = bot.sim.requests().into_iter().map(|r| r.operation).collect();
    assert_eq!(seen, [], "WSC saw no call for any refusal");
    assert_eq!(bot.sim.phase(SCANNING), Some(Phase::Scanning));
    assert_eq!(bot.sim.phase(SCHEDULED), Some(Phase::Scheduled));
    bot.assert_payloads_valid();
}

/// The audit channel is told after the person is answered: a slow or rate-limited one (serenity's
/// rate limiter is on in production) must not push the answer past Discord's 3 seconds.
#[tokio::test]
async fn refusals_are_answered_in_time_while_the_audit_channel_takes_5_seconds() {
    for front in FRONTS {
        let mut sim = settings();
        sim.faults = vec![(Operation::Stop, Fault { latency_ms: 2_000, ..Fault::default() })];
        let bot = start_bot_in(front, FakeDiscord::start().await, sim, 5, &[]).await;
        let second = Member { user_id: 800000000000000004, username: "second".into(), ..operator() };
        let mut confirmations = Vec::new();
        for member in [operator(), second.clone(), operator()] {
            let ask = bot.command(&member, "stop", instance_arg(SCANNING)).await;
            confirmations.push(bot.original(ask).await);
        }
        bot.discord.delay("POST", &format!("/channels/{AUDIT_CHANNEL}/messages"), Duration::from_secs(5));
        let confirm_id = format!("wsc:v1:confirm-stop:{SCANNING}");

        // The first confirm holds the job while WSC takes 2 s; the second one is told it is
        // already under way; the third comes from an operator whose role was taken away.
        let first = bot.click(&operator(), &confirm_id, confirmations[0].clone()).await;
        bot.callback(first).await;
        let mut refusals = Vec::new();
        let sent = Instant::now();
        refusals.push((
            bot.click(&second, &confirm_id, confirmations[1].clone()).await,
            sent,
            "already stopping",
        ));
        let demoted = Member { roles: vec![VIEWER_ROLE], ..operator() };
        let sent = Instant::now();
        refusals.push((
            bot.click(&demoted, &confirm_id, confirmations[2].clone()).await,
            sent,
            "Nothing was done",
        ));
        let sent = Instant::now();
        refusals.push((
            bot.command(&stranger(), "stop", instance_arg(SCANNING)).await,
            sent,
            "Nothing was done",
        ));
        for (id, sent, sentence) in refusals {
            let callback = bot.callback(id).await;
            let took = callback.at.duration_since(sent);
            assert!(took < Duration::from_secs(3), "{front:?}: answered after {took:?}");
            let text = callback.body["data"]["content"].as_str().unwrap_or_default();
            assert!(text.contains(sentence), "{front:?}: {text}");
        }
        // The audit channel still gets every line, 5 s later.
        bot.audit_line("already_in_progress", SCANNING).await;
        bot.audit_line("denied", SCANNING).await;
        bot.audit_line("done", SCANNING).await;
        assert_eq!(bot.sim.requests_for(Operation::Stop).len(), 1);
        bot.finish().await;
    }
}

#[tokio::test]
async fn a_stale_button_says_what_happened_and_refreshes_the_message() {
    let bot = start_bot(settings(), 5).await;
    let list = bot.command(&operator(), "jobs", json!([])).await;
    let jobs_message = bot.original(list).await;
    let jobs_message_id: u64 = jobs_message["id"].as_str().unwrap().parse().unwrap();
    bot.sim.advance(Duration::from_secs(24 * 3600)); // every running job has finished
    let ask = bot.click(&operator(), &format!("wsc:v1:stop:{CRAWLING}"), jobs_message).await;
    let reply = bot.original(ask).await;
    assert!(
        reply["content"].as_str().unwrap().starts_with("Nothing to stop: it is not running"),
        "{reply:#}"
    );
    assert!(custom_ids(&reply).is_empty());
    let edit_path = format!("/api/v10/channels/{CHANNEL_ID}/messages/{jobs_message_id}");
    bot.call("refresh", |c| c.method == "PATCH" && c.path == edit_path).await;
    assert!(!custom_ids(&bot.discord.message(jobs_message_id).unwrap())
        .iter()
        .any(|id| id.contains(":stop:")));
    assert_eq!(bot.wsc_actions(), 0);
    bot.finish().await;
}

#[tokio::test]
async fn bad_instance_ids_get_a_sentence_and_no_wsc_call() {
    let bot = start_bot(settings(), 5).await;
    let cases = [
        ("abc", "is not a job number"),
        ("-1", "is not a job number"),
        ("1/../2", "is not a job number"),
        ("12 34", "is not a job number"),
        ("123456789012345678901234567890", "too long"),
        ("0", "not a job number"),
    ];
    for (raw, expected) in cases {
        let id =
            bot.command(&operator(), "stop", json!([{"name": "instance_id", "type": 3, "value": raw}])).await;
        let callback = bot.callback(id).await;
        assert_eq!(callback.body["type"], 4);
        assert!(is_ephemeral(&callback.body["data"]));
        let text = callback.body["data"]["content"].as_str().unwrap();
        assert!(text.contains(expected), "{raw}: {text}");
    }
    // The sentinel: the next interaction, served in full. WSC saw its list and nothing else.
    bot.still_serves().await;
    let seen: Vec<_> = bot.sim.requests().into_iter().map(|r| r.operation).collect();
    assert_eq!(seen, [Some(Operation::List)], "no bad job number reached WSC");
    bot.assert_payloads_valid();
    bot.finish().await;
}

#[tokio::test]
async fn a_slow_wsc_is_acknowledged_well_within_three_seconds() {
    let mut settings = settings();
    settings.faults = vec![(Operation::List, Fault { latency_ms: 5_000, ..Fault::default() })];
    let bot = start_bot(settings, 10).await;
    let sent = Instant::now();
    let id = bot.command(&viewer(), "jobs", json!([])).await;
    let callback = bot.callback(id).await;
    let acknowledged = callback.at.duration_since(sent);
    assert!(acknowledged < Duration::from_secs(1), "acknowledged after {acknowledged:?}");
    let message = bot.original(id).await;
    assert_eq!(message["embeds"].as_array().unwrap().len(), 5, "the list arrives once WSC answers");
    bot.finish().await;
}

#[tokio::test]
async fn each_wsc_error_kind_becomes_its_sentence() {
    let bot = start_bot(settings(), 1).await;
    let cases = [
        (FaultError::Gateway(200), "refused the bot's API key"),
        (FaultError::Gateway(210), "NCP_WEB_SECURITY_CHECKER_MANAGER"),
        (FaultError::Wsc(169201), "NCP_WEB_SECURITY_CHECKER_MANAGER"),
        (FaultError::Wsc(169202), "could not verify the account"),
        (FaultError::RateLimited, "limiting requests"),
        (FaultError::Gateway(500), "unavailable right now"),
        (FaultError::Html, "unavailable right now"),
        (FaultError::Gateway(510), "did not answer in time"),
        (FaultError::Malformed, "could not read"),
        (FaultError::Gateway(300), "rejected the bot's request"),
    ];
    for (fault, expected) in cases {
        bot.sim.set_fault(Operation::List, Fault { error: Some(fault.clone()), ..Fault::default() });
        let id = bot.command(&viewer(), "jobs", json!([])).await;
        let message = bot.original(id).await;
        let text = message["content"].as_str().unwrap();
        assert!(text.contains(expected), "{fault}: {text}");
        assert!(text.contains("(ref `"), "a correlation id: {text}");
        for internal in ["Authentication Failed", "API Call Fail", "errorCode", "<html"] {
            assert!(!text.contains(internal), "{fault}: NCP's text leaked: {text}");
        }
    }
    bot.sim.set_fault(Operation::List, Fault { latency_ms: 3_000, ..Fault::default() });
    let id = bot.command(&viewer(), "jobs", json!([])).await;
    assert!(bot.original(id).await["content"].as_str().unwrap().contains("did not answer in time"));
    bot.assert_payloads_valid();
    bot.finish().await;
}

#[tokio::test]
async fn two_simultaneous_confirms_make_one_wsc_call() {
    let mut settings = settings();
    settings.faults = vec![(Operation::Stop, Fault { latency_ms: 1_000, ..Fault::default() })];
    let bot = start_bot(settings, 5).await;
    let second =
        Member { user_id: 800000000000000004, username: "second".into(), roles: vec![OPERATOR_ROLE] };
    let args = instance_arg(SCANNING);
    let mut confirmations = Vec::new();
    for member in [operator(), second.clone()] {
        let ask = bot.command(&member, "stop", args.clone()).await;
        confirmations.push((member, bot.original(ask).await));
    }
    let confirm_id = format!("wsc:v1:confirm-stop:{SCANNING}");
    let mut clicks = Vec::new();
    for (member, confirmation) in confirmations {
        clicks.push(bot.click(&member, &confirm_id, confirmation).await);
    }
    let mut texts = Vec::new();
    for id in clicks {
        texts.push(bot.callback(id).await.body["data"]["content"].as_str().unwrap().to_owned());
    }
    assert!(texts.iter().any(|t| t.contains("already stopping")), "{texts:?}");
    bot.call("public outcome", |c| c.method == "POST" && c.path.starts_with("/api/v10/webhooks/")).await;
    assert_eq!(bot.sim.requests_for(Operation::Stop).len(), 1, "exactly one stop reached WSC");
    bot.finish().await;
}

#[tokio::test]
async fn long_and_hostile_job_text_stays_within_limits_and_inert() {
    let mut settings = settings();
    let hostile = |n: u64, url: String, memo: String, label: &str| SeedJob {
        instance_no: n,
        start_url: url,
        memo: Some(memo),
        phase: Phase::Scanning,
        phase_percent: 50,
        starts_in_secs: 0,
        crawl_secs: 60,
        scan_secs: 60,
        outcome: Default::default(),
        crawled_urls: 9_999_999_999,
        risk: [9_999_999_999, 1, 1],
        status_label: Some(label.to_owned()),
    };
    settings.seed = vec![
        hostile(
            9999999999999999991,
            format!("https://{}.example/{}", "a".repeat(60), "p/".repeat(2000)),
            "메모 ".repeat(3000),
            &"검사중".repeat(300),
        ),
        hostile(
            9999999999999999992,
            "https://x.example/@everyone <@&1> **bold**\n# forged line".into(),
            "@here ||spoiler|| `code`\n> quote".into(),
            "Scanning @everyone\n`stop` **done** job 1 by <@1>",
        ),
        hostile(9999999999999999993, "javascript:alert(1)".into(), "𝕌𝕟𝕚𝕔𝕠𝕕𝕖 🚀".repeat(500), ""),
        hostile(9999999999999999994, String::new(), String::new(), "<@&1> <#1> <t:0>"),
        hostile(9999999999999999995, "https://ok.example/".into(), "x".repeat(5000), "Scanning"),
    ];
    let bot = start_bot(settings, 5).await;
    let id = bot.command(&viewer(), "jobs", json!([])).await;
    let message = bot.original(id).await;
    bot.assert_payloads_valid();
    assert_inert(&message);
    // The whole stop, from WSC's hostile text to the confirmation, the team's message and the
    // audit line.
    let ask = bot.click(&operator(), "wsc:v1:stop:9999999999999999992", message).await;
    let confirmation = bot.original(ask).await;
    assert_inert(&confirmation);
    let confirm_id = custom_ids(&confirmation)[0].clone();
    assert!(confirm_id.starts_with("wsc:v1:confirm-stop:9999999999999999992:"), "{confirm_id}");
    let confirm = bot.click(&operator(), &confirm_id, confirmation).await;
    assert_inert(&bot.follow_up(confirm).await.body);
    assert_inert(&bot.audit_line("done", 9999999999999999992).await.body);
    bot.assert_payloads_valid();
    bot.finish().await;
}

#[tokio::test]
async fn the_bot_resumes_after_a_reconnect_request() {
    let bot = start_bot(settings(), 5).await;
    bot.discord.request_reconnect();
    let deadline = Instant::now() + WAIT;
    while bot.discord.stats().resumes == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(bot.discord.stats().resumes, 1, "serenity resumed the session");
    let id = bot.command(&viewer(), "jobs", json!([])).await;
    assert_eq!(bot.original(id).await["embeds"].as_array().unwrap().len(), 5);
    bot.finish().await;
}

#[tokio::test]
async fn wsc_refusing_the_stop_is_explained_from_a_fresh_read() {
    let mut settings = settings();
    settings.faults =
        vec![(Operation::Stop, Fault { error: Some(FaultError::Wsc(901)), ..Fault::default() })];
    let bot = start_bot(settings, 5).await;
    let confirm = bot.confirm_stop(SCANNING).await;
    let reply = bot.original(confirm).await;
    let text = reply["content"].as_str().unwrap();
    assert!(
        text.contains("WSC refused") && text.contains("(ref `"),
        "still running, so WSC's refusal is reported: {text}"
    );
    assert_eq!(bot.sim.requests_for(Operation::Stop).len(), 1, "never retried");
    let audit_path = format!("/api/v10/channels/{AUDIT_CHANNEL}/messages");
    let audit = bot.call("audit line", |c| c.path == audit_path).await;
    assert!(audit.body["content"].as_str().unwrap().contains("NCP code 901"));
    bot.still_serves().await; // the sentinel, then the absence
    assert!(bot.discord.followups(&format!("token-{confirm}")).is_empty(), "no public outcome for a failure");
    bot.finish().await;
}

#[tokio::test]
async fn a_stop_wsc_has_not_carried_out_when_it_times_out_is_reported_as_a_timeout() {
    let mut settings = settings();
    // WSC sits on the request far beyond the bot's 1 s: it has not acted when the bot reads again.
    settings.faults = vec![(Operation::Stop, Fault { latency_ms: 30_000, ..Fault::default() })];
    let bot = start_bot(settings, 1).await;
    let confirm = bot.confirm_stop(SCANNING).await;
    let text = bot.original(confirm).await["content"].as_str().unwrap().to_owned();
    assert!(text.contains("did not answer in time") && text.contains("(ref `"), "{text}");
    assert_eq!(bot.sim.phase(SCANNING), Some(Phase::Scanning), "still running when the bot looked");
    bot.audit_line("timeout", SCANNING).await;
    assert_eq!(bot.sim.requests_for(Operation::Stop).len(), 1, "never retried");
    bot.sim.clear_faults();
    bot.still_serves().await; // the sentinel, then the absence
    assert!(bot.discord.followups(&format!("token-{confirm}")).is_empty(), "nothing announced");
    bot.finish().await;
}

#[tokio::test]
async fn a_stop_wsc_carried_out_but_answered_late_is_judged_by_reading_the_job_again() {
    let mut settings = settings();
    // WSC stops the job at once, then its answer takes longer than the bot's 1 s.
    settings.faults = vec![(Operation::Stop, Fault { answer_latency_ms: 2_500, ..Fault::default() })];
    let bot = start_bot(settings, 1).await;
    let confirm = bot.confirm_stop(SCANNING).await;
    let text = bot.original(confirm).await["content"].as_str().unwrap().to_owned();
    assert!(text.contains("most likely went through"), "{text}");
    let outcome = bot.follow_up(confirm).await;
    assert!(outcome.body["content"].as_str().unwrap().contains("stopped the scan of"), "the team is told");
    bot.audit_line("unconfirmed", SCANNING).await;
    assert_eq!(bot.sim.phase(SCANNING), Some(Phase::Stopping));
    assert_eq!(bot.sim.requests_for(Operation::Stop).len(), 1, "never retried");
    bot.finish().await;
}

/// Metrics and readiness are process-wide: the bot runs as its own `wsc-bot run` process, so
/// every count below is this test's and nothing else's.
#[tokio::test]
async fn gateway_mode_serves_health_readiness_and_metrics() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let extra = [("WSC_HTTP_LISTEN", format!("127.0.0.1:{port}"))];
    let (bot, _process) =
        start_process_in(Front::Gateway, FakeDiscord::start().await, settings(), 5, &extra).await;
    let base = format!("http://127.0.0.1:{port}");
    let get = |path: &'static str| {
        let url = format!("{base}{path}");
        async move {
            for _ in 0..50 {
                if let Ok(response) = reqwest::get(&url).await {
                    return (response.status().as_u16(), response.text().await.unwrap());
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            panic!("{url} did not answer");
        }
    };
    assert_eq!(get("/healthz").await.0, 200);
    // READY reaches the bot's handler just after the fake sent it: ready within moments.
    let mut readiness = get("/readyz").await;
    for _ in 0..100 {
        if readiness.0 == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        readiness = get("/readyz").await;
    }
    assert_eq!(readiness, (200, "ready\n".to_owned()), "the gateway is connected");
    let ok = r#"wsc_bot_interactions_total{kind="command",outcome="ok"}"#;
    let denied = r#"wsc_bot_interactions_total{kind="command",outcome="denied"}"#;
    let count = |metrics: &str, series: &str| {
        metrics.lines().find_map(|l| l.strip_prefix(series)).and_then(|v| v.trim().parse::<f64>().ok())
    };
    let (status, before) = get("/metrics").await;
    assert_eq!(status, 200);
    assert_eq!((count(&before, ok), count(&before, denied)), (None, None), "nothing counted yet: {before}");
    let id = bot.command(&viewer(), "jobs", json!([])).await;
    bot.original(id).await;
    let refused = bot.command(&stranger(), "jobs", json!([])).await;
    bot.callback(refused).await;
    // An interaction is counted once it is finished, just after its last call to Discord.
    let mut metrics = String::new();
    for _ in 0..100 {
        metrics = get("/metrics").await.1;
        if count(&metrics, ok).is_some() && count(&metrics, denied).is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!((count(&metrics, ok), count(&metrics, denied)), (Some(1.0), Some(1.0)), "{metrics}");
    bot.finish().await;
}

#[tokio::test]
async fn an_interaction_the_gateway_delivers_twice_is_handled_once() {
    let bot = start_bot(settings(), 5).await;
    let ask = bot.command(&operator(), "stop", instance_arg(SCANNING)).await;
    let confirmation = bot.original(ask).await;
    let id = bot.id();
    let confirm = fake_discord::component_click(
        id,
        &operator(),
        "en-US",
        &format!("wsc:v1:confirm-stop:{SCANNING}"),
        confirmation,
    );
    bot.discord.dispatch(confirm.clone()).await;
    bot.discord.dispatch(confirm).await;
    bot.follow_up(id).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let token = format!("/token-{id}");
    let calls: Vec<_> = bot.discord.rest_calls().into_iter().filter(|c| c.path.contains(&token)).collect();
    let callbacks = calls.iter().filter(|c| c.path.ends_with("/callback")).count();
    let followups = calls.iter().filter(|c| c.method == "POST" && !c.path.ends_with("/callback")).count();
    assert_eq!((callbacks, followups), (1, 1), "one flow: {calls:#?}");
    assert_eq!(bot.sim.requests_for(Operation::Stop).len(), 1);
    bot.still_serves().await;
    bot.finish().await;
}
