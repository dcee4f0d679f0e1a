//! `/wsc scan`, Rescan and `/wsc stop-all`, end to end in both front ends: the real serenity
//! client or the Interactions Endpoint, the fake Discord and the WSC simulator.

mod common;

use std::time::Duration;

use common::bot::*;
use common::fake_discord::{FakeDiscord, Member};
use common::settings;
use serde_json::{json, Value};
use wsc_bot::wsc::sim::{Fault, Phase, SeedJob, SimSettings};
use wsc_bot::wsc::Operation;

const TARGETS: &str = "shop.example.com, *.example.com";
const FINISHED: u64 = 1000000005;

fn targets(list: &str) -> Vec<(&'static str, String)> {
    vec![("WSC_SCAN_TARGETS", list.to_owned())]
}

fn scan_args(url: &str, extra: &[(&str, &str)]) -> Value {
    let mut args = vec![json!({"name": "url", "type": 3, "value": url})];
    args.extend(extra.iter().map(|(name, value)| json!({"name": name, "type": 3, "value": value})));
    Value::Array(args)
}

fn content(message: &Value) -> String {
    message["content"].as_str().unwrap_or_default().to_owned()
}

/// The ephemeral first answer of interaction `id` (a confirmation or a refusal), as stored.
async fn first_answer(bot: &Bot, id: u64) -> Value {
    let callback = bot.callback(id).await;
    assert_eq!(callback.body["type"], 4, "{:#}", callback.body);
    assert!(is_ephemeral(&callback.body["data"]), "only the asker sees it");
    bot.discord.original(&format!("token-{id}")).unwrap_or_else(|| callback.body["data"].clone())
}

fn confirm_button(message: &Value, verb: &str) -> String {
    let ids = custom_ids(message);
    let prefix = format!("wsc:v1:{verb}:");
    ids.iter().find(|id| id.starts_with(&prefix)).cloned().unwrap_or_else(|| panic!("no {verb} in {ids:?}"))
}

fn creates(bot: &Bot) -> usize {
    bot.sim.requests_for(Operation::Create).len()
}

/// `/wsc scan` by `member`; returns the confirmation (or refusal) message.
async fn ask_scan(bot: &Bot, member: &Member, url: &str, extra: &[(&str, &str)]) -> Value {
    let id = bot.command(member, "scan", scan_args(url, extra)).await;
    first_answer(bot, id).await
}

/// A click on the scan confirmation; returns the public message posted for it.
async fn confirm_scan(bot: &Bot, member: &Member, confirmation: &Value) -> (u64, Value) {
    let click = bot.click(member, &confirm_button(confirmation, "confirm-scan"), confirmation.clone()).await;
    let public = bot.follow_up(click).await;
    assert!(!is_ephemeral(&public.body), "the team sees the outcome");
    (click, public.body)
}

#[tokio::test]
async fn a_scan_of_an_allowed_host_is_confirmed_then_started_once_and_shown_with_its_stop_button() {
    for front in FRONTS {
        let bot = start_bot_in(front, FakeDiscord::start().await, settings(), 5, &targets(TARGETS)).await;
        let confirmation = ask_scan(
            &bot,
            &operator(),
            "https://shop.example.com/cart",
            &[("memo", "release 42"), ("speed", "fast")],
        )
        .await;
        let text = content(&confirmation);
        for part in ["Start this scan?", "billed", "https://shop.example.com/cart", "fast", "hosted on NCP"] {
            assert!(text.contains(part), "{front:?}: `{part}` in {text}");
        }
        assert_eq!(creates(&bot), 0, "{front:?}: nothing is started before the confirmation");

        let (click, public) = confirm_scan(&bot, &operator(), &confirmation).await;
        let billing = bot.sim.billing();
        assert_eq!(billing.create_job_calls, 1, "{front:?}");
        let body = &billing.bodies[0];
        assert_eq!(body["StartUrl"], "https://shop.example.com/cart");
        assert_eq!(
            (&body["Speed"], &body["VulnItems"], &body["UserAgent"]),
            (&json!("3"), &json!(["ALL"]), &json!("PC Chrome"))
        );
        let memo = body["Memo"].as_str().unwrap();
        assert!(memo.starts_with("release 42 · ") && memo.contains("@oncall"), "{memo}");
        assert!(body.get("MasterInstanceNo").is_none());

        let created =
            bot.sim.jobs().into_iter().find(|j| j.start_url == "https://shop.example.com/cart").unwrap();
        let public_text = content(&public);
        assert!(
            public_text.contains("started a scan") && public_text.contains(&created.instance_no.to_string()),
            "{public_text}"
        );
        assert_eq!(custom_ids(&public), [format!("wsc:v1:stop:{}", created.instance_no)], "its Stop button");
        let private = bot.original(click).await;
        assert!(content(&private).contains("started"), "{front:?}: {private:#}");
        bot.audit_line("done", created.instance_no).await;
        assert_eq!(creates(&bot), 1, "{front:?}: exactly one createJob");
        bot.assert_payloads_valid();
        bot.finish().await;
    }
}

#[tokio::test]
async fn scanning_is_off_by_default_and_an_unlisted_host_or_a_bad_url_is_refused_without_a_call() {
    for front in FRONTS {
        let off = start_bot_in(front, FakeDiscord::start().await, settings(), 5, &[]).await;
        let reply = ask_scan(&off, &operator(), "https://shop.example.com/", &[]).await;
        assert!(content(&reply).contains("WSC_SCAN_TARGETS") && custom_ids(&reply).is_empty(), "{reply:#}");
        assert!(off.sim.requests().is_empty(), "{front:?}: WSC is not called");
        off.finish().await;

        let bot =
            start_bot_in(front, FakeDiscord::start().await, settings(), 5, &targets("shop.example.com"))
                .await;
        let refused = [
            ("https://www.example.com/", "is not among the hosts"),
            ("https://shop.example.com.evil.net/", "is not among the hosts"),
            ("ftp://shop.example.com/", "Only http and https"),
            ("shop.example.com", "is not a URL"),
            ("https://admin:pw@shop.example.com/", "user name and password"),
            ("https://x.y/@everyone\n# forged", "is not among the hosts"),
        ];
        for (url, sentence) in refused {
            let reply = ask_scan(&bot, &operator(), url, &[]).await;
            assert!(content(&reply).contains(sentence), "{front:?} {url}: {reply:#}");
            assert!(custom_ids(&reply).is_empty());
            assert_inert(&reply);
        }
        let bad_speed = bot
            .command(&operator(), "scan", scan_args("https://shop.example.com/", &[("speed", "warp")]))
            .await;
        assert!(content(&first_answer(&bot, bad_speed).await).contains("is not a scan speed"));
        assert!(bot.sim.requests().is_empty(), "{front:?}: WSC is not called");
        bot.assert_payloads_valid();
        bot.finish().await;
    }
}

#[tokio::test]
async fn a_viewer_can_neither_ask_for_nor_confirm_a_scan() {
    for front in FRONTS {
        let bot = start_bot_in(front, FakeDiscord::start().await, settings(), 5, &targets(TARGETS)).await;
        let denied = ask_scan(&bot, &viewer(), "https://shop.example.com/", &[]).await;
        assert!(content(&denied).contains("to start scans") && custom_ids(&denied).is_empty(), "{denied:#}");
        // An operator whose role was taken away after asking: the role in the click counts.
        let confirmation = ask_scan(&bot, &operator(), "https://shop.example.com/", &[]).await;
        let demoted = Member { roles: vec![VIEWER_ROLE], ..operator() };
        let button = confirm_button(&confirmation, "confirm-scan");
        let click = bot.click(&demoted, &button, confirmation.clone()).await;
        let callback = bot.callback(click).await;
        assert_eq!(callback.body["type"], 7, "the confirmation is replaced: {:#}", callback.body);
        assert!(content(&callback.body["data"]).contains("to start scans"), "{:#}", callback.body);
        bot.audit_line("denied", 0).await;
        assert_eq!(creates(&bot), 0, "{front:?}: no call without the role");
        assert!(bot.sim.requests().is_empty(), "{front:?}: no WSC call at all");
        // With the role, the next confirmation goes through.
        let confirmation = ask_scan(&bot, &operator(), "https://shop.example.com/", &[]).await;
        confirm_scan(&bot, &operator(), &confirmation).await;
        assert_eq!(creates(&bot), 1);
        bot.finish().await;
    }
}

#[tokio::test]
async fn two_confirms_at_once_make_one_create_call() {
    for front in FRONTS {
        let mut sim = settings();
        sim.faults = vec![(Operation::Create, Fault { latency_ms: 1_000, ..Fault::default() })];
        let bot = start_bot_in(front, FakeDiscord::start().await, sim, 5, &targets(TARGETS)).await;
        let confirmation = ask_scan(&bot, &operator(), "https://shop.example.com/", &[]).await;
        let button = confirm_button(&confirmation, "confirm-scan");
        let first = bot.click(&operator(), &button, confirmation.clone()).await;
        let second = bot.click(&operator(), &button, confirmation.clone()).await;
        let mut texts = Vec::new();
        for id in [first, second] {
            texts.push(content(&bot.callback(id).await.body["data"]));
        }
        assert!(texts.iter().any(|t| t.contains("already used")), "{front:?}: {texts:?}");
        bot.call("public outcome", |c| c.method == "POST" && c.path.starts_with("/api/v10/webhooks/")).await;
        assert_eq!(creates(&bot), 1, "{front:?}: exactly one createJob reached WSC");
        assert_eq!(bot.sim.billing().create_job_calls, 1);
        bot.finish().await;
    }
}

#[tokio::test]
async fn a_create_answered_too_late_is_found_by_search_and_not_sent_again() {
    for front in FRONTS {
        let mut sim = settings();
        sim.faults = vec![(Operation::Create, Fault { answer_latency_ms: 4_000, ..Fault::default() })];
        let bot = start_bot_in(front, FakeDiscord::start().await, sim, 2, &targets(TARGETS)).await;
        let confirmation = ask_scan(&bot, &operator(), "https://api.example.com/v3/", &[]).await;
        let (click, public) = confirm_scan(&bot, &operator(), &confirmation).await;
        let created =
            bot.sim.jobs().into_iter().find(|j| j.start_url == "https://api.example.com/v3/").unwrap();
        assert!(content(&public).contains(&created.instance_no.to_string()), "{public:#}");
        let private = bot.original(click).await;
        assert!(content(&private).contains("did not come through"), "{front:?}: {private:#}");
        assert_eq!(creates(&bot), 1, "{front:?}: never sent again");
        let searches = bot.sim.requests_for(Operation::Search);
        assert!(!searches.is_empty(), "looked for by search");
        bot.audit_line("unconfirmed", created.instance_no).await;
        bot.finish().await;
    }
}

#[tokio::test]
async fn the_new_job_is_shown_whether_or_not_the_answer_names_it() {
    for front in FRONTS {
        for named in [true, false] {
            let sim = SimSettings { create_answer_number: named, ..settings() };
            let bot = start_bot_in(front, FakeDiscord::start().await, sim, 5, &targets(TARGETS)).await;
            let confirmation = ask_scan(&bot, &operator(), "https://shop.example.com/", &[]).await;
            let (_, public) = confirm_scan(&bot, &operator(), &confirmation).await;
            let newest = bot.sim.jobs()[0].clone();
            assert_eq!(newest.start_url, "https://shop.example.com/");
            assert_eq!(
                custom_ids(&public),
                [format!("wsc:v1:stop:{}", newest.instance_no)],
                "{front:?} {named}"
            );
            assert_eq!(creates(&bot), 1);
            bot.finish().await;
        }
    }
}

#[tokio::test]
async fn a_finished_job_is_rescanned_after_the_same_confirmation_and_the_target_rule_holds() {
    for front in FRONTS {
        let bot = start_bot_in(front, FakeDiscord::start().await, settings(), 5, &targets(TARGETS)).await;
        let report = bot.command(&operator(), "report", instance_arg(FINISHED)).await;
        let report = bot.original(report).await;
        let rescan = format!("wsc:v1:rescan:{FINISHED}");
        assert!(custom_ids(&report).contains(&rescan), "{report:#}");
        let ask = bot.click(&operator(), &rescan, report.clone()).await;
        let confirmation = bot.original(ask).await;
        assert!(content(&confirmation).contains(&format!("Rescan job {FINISHED}")), "{confirmation:#}");
        confirm_scan(&bot, &operator(), &confirmation).await;
        let billing = bot.sim.billing();
        assert_eq!(billing.create_job_calls, 1, "{front:?}");
        assert_eq!(billing.bodies[0]["MasterInstanceNo"], FINISHED.to_string());
        assert_eq!(billing.bodies[0]["StartUrl"], "https://blog.example.com/");
        bot.finish().await;

        // The same job when only the shop may be scanned: refused, nothing called.
        let bot =
            start_bot_in(front, FakeDiscord::start().await, settings(), 5, &targets("shop.example.com"))
                .await;
        let report = bot.command(&operator(), "report", instance_arg(FINISHED)).await;
        let report = bot.original(report).await;
        let ask = bot.click(&operator(), &rescan, report).await;
        assert!(content(&bot.original(ask).await).contains("is not among the hosts"));
        assert_eq!(creates(&bot), 0);
        bot.finish().await;
    }
}

/// A running job of the stop-all test: `percent` into a scan of `secs` simulated seconds.
fn running(instance_no: u64, url: &str, percent: u8, secs: u64) -> SeedJob {
    SeedJob {
        instance_no,
        start_url: url.to_owned(),
        memo: None,
        phase: Phase::Scanning,
        phase_percent: percent,
        starts_in_secs: 0,
        crawl_secs: 60,
        scan_secs: secs,
        outcome: Default::default(),
        crawled_urls: 1,
        risk: [0, 0, 1],
        status_label: None,
    }
}

#[tokio::test]
async fn stop_all_stops_each_listed_job_once_even_when_two_operators_confirm_at_once() {
    const ENDING: u64 = 2000000001;
    const LATE: u64 = 2000000002;
    for front in FRONTS {
        let mut sim = settings();
        sim.seed.push(running(ENDING, "https://ending.example.com/", 99, 100));
        sim.faults = vec![(Operation::Stop, Fault { latency_ms: 300, ..Fault::default() })];
        let bot = start_bot_in(front, FakeDiscord::start().await, sim, 5, &[]).await;
        let second =
            Member { user_id: 800000000000000004, username: "second".into(), roles: vec![OPERATOR_ROLE] };

        let mut confirmations = Vec::new();
        for member in [operator(), second.clone()] {
            let ask = bot.command(&member, "stop-all", json!([])).await;
            let confirmation = bot.original(ask).await;
            let text = content(&confirmation);
            for job in [ENDING, SCANNING, CRAWLING] {
                assert!(text.contains(&job.to_string()), "{front:?}: {text}");
            }
            assert_eq!(
                confirm_button(&confirmation, "confirm-stop-all").len(),
                "wsc:v1:confirm-stop-all:".len() + 12
            );
            confirmations.push((member, confirmation));
        }
        // In between: one job finishes, another starts.
        bot.sim.advance(Duration::from_secs(30));
        assert_eq!(bot.sim.phase(ENDING), Some(Phase::Finished));
        bot.sim.add_job(running(LATE, "https://late.example.com/", 10, 600));

        let mut clicks = Vec::new();
        for (member, confirmation) in &confirmations {
            let button = confirm_button(confirmation, "confirm-stop-all");
            clicks.push(bot.click(member, &button, confirmation.clone()).await);
        }
        let mut publics = Vec::new();
        for click in &clicks {
            publics.push(content(&bot.follow_up(*click).await.body));
        }
        for job in [SCANNING, CRAWLING] {
            let stops =
                bot.sim.requests_for(Operation::Stop).iter().filter(|r| r.instance_no == Some(job)).count();
            assert_eq!(stops, 1, "{front:?}: job {job} stopped exactly once");
            bot.audit_line("done", job).await;
        }
        let touched = |job| bot.sim.requests_for(Operation::Stop).iter().any(|r| r.instance_no == Some(job));
        assert!(!touched(ENDING), "{front:?}: a job that had finished is not stopped");
        assert!(!touched(LATE), "{front:?}: a job that started after the confirmation is not touched");
        assert_eq!(bot.sim.phase(LATE), Some(Phase::Scanning));
        assert!(publics.iter().all(|p| p.contains("had already finished")), "{publics:?}");
        assert!(publics.iter().any(|p| p.contains("2 stopped")), "{publics:?}");
        bot.audit_line("not_applicable", ENDING).await;
        bot.assert_payloads_valid();
        bot.finish().await;
    }
}

#[tokio::test]
async fn stop_all_with_nothing_running_or_from_a_viewer_calls_no_stop() {
    for front in FRONTS {
        let bot = start_bot_in(front, FakeDiscord::start().await, settings(), 5, &[]).await;
        let denied = bot.command(&viewer(), "stop-all", json!([])).await;
        assert!(content(&bot.callback(denied).await.body["data"]).contains("to stop scans"));
        let none = bot
            .command(&operator(), "stop-all", json!([{"name": "url", "type": 3, "value": "nothing.invalid"}]))
            .await;
        let reply = bot.original(none).await;
        assert!(content(&reply).contains("No scan is running") && custom_ids(&reply).is_empty(), "{reply:#}");
        assert_eq!(bot.wsc_actions(), 0);
        bot.finish().await;
    }
}

#[tokio::test]
async fn the_member_who_started_a_scan_hears_when_it_finishes_and_closed_dms_break_nothing() {
    use common::fake_discord::{dm_channel_of, WATCH_CHANNEL};
    for front in FRONTS {
        let mut vars = targets(TARGETS);
        vars.push(("WSC_WATCH_CHANNEL_ID", WATCH_CHANNEL.to_string()));
        vars.push(("WSC_WATCH_INTERVAL_SECS", "10".to_owned()));
        let bot = start_bot_in(front, FakeDiscord::start().await, settings(), 5, &vars).await;
        let closed =
            Member { user_id: 800000000000000005, username: "closed".into(), roles: vec![OPERATOR_ROLE] };
        bot.discord.close_dms(closed.user_id);
        for (member, url) in
            [(operator(), "https://shop.example.com/"), (closed.clone(), "https://api.example.com/")]
        {
            let confirmation = ask_scan(&bot, &member, url, &[]).await;
            confirm_scan(&bot, &member, &confirmation).await;
        }
        bot.sim.advance(Duration::from_secs(86_400)); // both scans finish
        let dm = dm_channel_of(operator().user_id);
        let told =
            bot.discord.wait_until(|d| !d.channel_messages(dm).is_empty(), Duration::from_secs(30)).await;
        assert!(told, "{front:?}: the starter got a direct message");
        let finished = bot.discord.channel_messages(WATCH_CHANNEL);
        let watch_text: Vec<String> = finished.iter().map(content).collect();
        let both = bot
            .discord
            .wait_until(
                |d| {
                    d.channel_messages(WATCH_CHANNEL)
                        .iter()
                        .filter(|m| content(m).contains("Scan finished"))
                        .count()
                        >= 2
                },
                Duration::from_secs(15),
            )
            .await;
        assert!(both, "{front:?}: the watch channel is told of both: {watch_text:?}");
        let messages = bot.discord.channel_messages(dm);
        assert_eq!(messages.len(), 1, "{front:?}: one message");
        let text = content(&messages[0]);
        assert!(text.contains("Scan finished") && text.contains("high"), "{front:?}: {text}");
        assert!(bot.discord.channel_messages(dm_channel_of(closed.user_id)).is_empty());
        let closed_path = format!("/api/v10/channels/{}/messages", dm_channel_of(closed.user_id));
        bot.call("the attempt to a member whose DMs are closed", |c| {
            c.path == closed_path && c.status == 403
        })
        .await;
        bot.still_serves().await;
        bot.finish().await;
    }
}
