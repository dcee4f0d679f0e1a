//! WSC failing under the bot, in both front ends: every 5xx, gateway errors, 429 storms, an HTML
//! page, malformed and truncated JSON, a connection dropped mid-answer, WSC's 901 with HTTP 200
//! and 400, and a WSC that takes 30 s. For each: the user gets a sentence saying what happened,
//! nothing panics, the next interaction is served, and every attempted stop has its audit line
//! and reached WSC once.

mod common;

use std::time::{Duration, Instant};

use common::bot::*;
use common::fake_discord::FakeDiscord;
use common::settings;
use serde_json::json;
use wsc_bot::wsc::sim::{Fault, FaultError, Phase, SeedJob, SettingsPatch, SimSettings};
use wsc_bot::wsc::Operation;

const UNAVAILABLE: &str = "unavailable right now";
const TIMEOUT: &str = "did not answer in time";
const RATE_LIMITED: &str = "limiting requests";
const UNREADABLE: &str = "could not read";
const REFUSED: &str = "WSC refused";
const WENT_THROUGH: &str = "most likely went through";

fn failing(error: FaultError) -> Fault {
    Fault { error: Some(error), ..Fault::default() }
}

/// Both front ends at once, each with its own simulator and fake Discord.
async fn in_both_fronts<F, Fut>(sim: impl Fn() -> SimSettings, timeout_secs: u64, test: F)
where
    F: Fn(Bot) -> Fut,
    Fut: std::future::Future<Output = Bot>,
{
    let (gateway, serve) = tokio::join!(
        start_bot_in(Front::Gateway, FakeDiscord::start().await, sim(), timeout_secs, &[]),
        start_bot_in(Front::Serve, FakeDiscord::start().await, sim(), timeout_secs, &[])
    );
    let (gateway, serve) = tokio::join!(test(gateway), test(serve));
    tokio::join!(gateway.finish(), serve.finish());
    assert_eq!(common::panics(), 0, "nothing panicked");
}

/// The text the person who asked ends up with.
async fn final_text(bot: &Bot, interaction: u64) -> String {
    bot.original(interaction).await["content"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn every_failed_read_gets_its_sentence_and_the_next_interaction_is_served() {
    let mut cases: Vec<(FaultError, &str)> = (500..=511)
        .map(|status| (FaultError::Status(status), if status == 504 { TIMEOUT } else { UNAVAILABLE }))
        .collect();
    cases.extend([
        (FaultError::Gateway(900), UNAVAILABLE),
        (FaultError::Gateway(500), UNAVAILABLE),
        (FaultError::Gateway(510), TIMEOUT),
        (FaultError::Html, UNAVAILABLE),
        (FaultError::RateLimited, RATE_LIMITED),
        (FaultError::Malformed, UNREADABLE),
        (FaultError::Truncated, UNREADABLE),
        (FaultError::Drop, UNAVAILABLE),
        (FaultError::Wsc(901), UNAVAILABLE),
    ]);
    in_both_fronts(settings, 2, |bot| {
        let cases = cases.clone();
        async move {
            for wsc_error_status in [200, 400] {
                bot.sim
                    .update(SettingsPatch { wsc_error_status: Some(wsc_error_status), ..Default::default() })
                    .unwrap();
                // The status only changes WSC's own errors.
                let cases =
                    cases.iter().filter(|(e, _)| wsc_error_status == 200 || matches!(e, FaultError::Wsc(_)));
                for (error, expected) in cases {
                    bot.sim.set_fault(Operation::List, failing(error.clone()));
                    let id = bot.command(&viewer(), "jobs", json!([])).await;
                    let text = final_text(&bot, id).await;
                    assert!(
                        text.contains(expected) && text.contains("(ref `"),
                        "{:?} {error}: {text}",
                        bot.endpoint
                    );
                    for internal in ["<html", "errorCode", "API Call Fail", "Bad Gateway", "surprise"] {
                        assert!(!text.contains(internal), "{error}: WSC's own text reached the user: {text}");
                    }
                }
            }
            bot.sim.clear_faults();
            bot.still_serves().await;
            bot.assert_payloads_valid();
            bot
        }
    })
    .await;
}

/// A running job the simulator adds for one case, so each stop starts from the same state.
fn running_job(instance_no: u64) -> SeedJob {
    SeedJob {
        instance_no,
        start_url: format!("https://app{instance_no}.example/"),
        memo: None,
        phase: Phase::Scanning,
        phase_percent: 50,
        starts_in_secs: 0,
        crawl_secs: 600,
        scan_secs: 600,
        outcome: Default::default(),
        crawled_urls: 10,
        risk: [0, 0, 0],
        status_label: None,
    }
}

#[tokio::test]
async fn every_failed_stop_is_explained_audited_and_never_sent_twice() {
    // (fault on the stop, what the operator reads, the audit outcome, whether WSC stopped it)
    let cases = [
        (FaultError::Status(500), UNAVAILABLE, "unavailable", false),
        (FaultError::Status(503), UNAVAILABLE, "unavailable", false),
        (FaultError::Gateway(900), UNAVAILABLE, "unavailable", false),
        (FaultError::Gateway(510), TIMEOUT, "timeout", false),
        (FaultError::Html, UNAVAILABLE, "unavailable", false),
        (FaultError::RateLimited, RATE_LIMITED, "rate_limited", false),
        (FaultError::Wsc(901), REFUSED, "not_applicable", false),
        // WSC acted, then its answer was unreadable, cut off or lost on the way.
        (FaultError::Malformed, "Stop requested", "done", true),
        (FaultError::Truncated, WENT_THROUGH, "unconfirmed", true),
        (FaultError::Drop, WENT_THROUGH, "unconfirmed", true),
    ];
    in_both_fronts(settings, 2, |bot| {
        let cases = cases.clone();
        async move {
            let mut unannounced = Vec::new();
            for wsc_error_status in [200, 400] {
                bot.sim
                    .update(SettingsPatch { wsc_error_status: Some(wsc_error_status), ..Default::default() })
                    .unwrap();
                for (n, (error, expected, outcome, stopped)) in cases.clone().into_iter().enumerate() {
                    let instance = 3_000_000_000 + wsc_error_status as u64 * 100 + n as u64;
                    bot.sim.add_job(running_job(instance));
                    bot.sim.set_fault(Operation::Stop, failing(error.clone()));
                    bot.sim.clear_requests();
                    let confirm = bot.confirm_stop(instance).await;
                    let text = final_text(&bot, confirm).await;
                    let case = format!("{:?} {error} with {wsc_error_status}", bot.endpoint);
                    assert!(text.contains(expected), "{case}: {text}");
                    assert_eq!(
                        bot.sim.requests_for(Operation::Stop).len(),
                        1,
                        "{case}: one stop, never retried"
                    );
                    assert_eq!(bot.sim.phase(instance) == Some(Phase::Stopping), stopped, "{case}");
                    bot.audit_line(outcome, instance).await;
                    // The attempt was written first, under the outcome's correlation id.
                    let trail = common::audit::of_interaction(confirm);
                    assert_eq!(common::audit::outcomes(&trail), ["attempted", outcome], "{case}");
                    assert_eq!(trail[0].get("correlation"), trail[1].get("correlation"), "{case}");
                    // The team hears of a stop that happened, and only of one that did.
                    if stopped {
                        bot.follow_up(confirm).await;
                    } else {
                        unannounced.push((confirm, case));
                    }
                }
            }
            bot.sim.clear_faults();
            bot.still_serves().await; // the sentinel, then the absence
            for (confirm, case) in unannounced {
                assert!(bot.discord.followups(&format!("token-{confirm}")).is_empty(), "{case}: announced");
            }
            bot.assert_payloads_valid();
            bot
        }
    })
    .await;
}

#[tokio::test]
async fn the_attempt_is_on_record_before_wsc_answers_a_stop_that_hangs() {
    let hanging = || {
        let mut settings = settings();
        settings.faults = vec![(Operation::Stop, Fault { latency_ms: 60_000, ..Fault::default() })];
        settings
    };
    in_both_fronts(hanging, 30, |bot| async move {
        let confirm = bot.confirm_stop(SCANNING).await;
        let arrived = async {
            while bot.sim.requests_for(Operation::Stop).is_empty() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        tokio::time::timeout(WAIT, arrived).await.expect("the stop reached WSC");
        // WSC has not answered, and will not for a minute: a crash now would still leave this.
        let trail = common::audit::of_interaction(confirm);
        assert_eq!(common::audit::outcomes(&trail), ["attempted"], "{trail:#?}");
        let attempt = &trail[0];
        let operator = operator().user_id.to_string();
        assert_eq!(attempt.get("actor_id"), Some(operator.as_str()));
        assert_eq!(attempt.get("action"), Some("stop"));
        assert_eq!(attempt.get("instance"), Some(SCANNING.to_string().as_str()));
        assert!(attempt.get("target_url").is_some_and(|url| url.starts_with("https://")), "{attempt:?}");
        assert!(attempt.get("correlation").is_some_and(|c| c.len() == 6), "{attempt:?}");
        bot
    })
    .await;
}

#[tokio::test]
async fn a_hostile_page_count_gives_only_buttons_the_bot_accepts() {
    use wsc_bot::bot::action::ButtonId;
    // `"1e20"` reads as u64::MAX; no button may carry a page past 10,000.
    let hostile = || {
        let mut settings = settings();
        settings.total_page_cnt = Some(json!("1e20"));
        settings
    };
    in_both_fronts(hostile, 5, |bot| async move {
        let page = |n: u32| json!([{"name": "page", "type": 4, "value": n}]);
        let mut shown = Vec::new();
        for n in [1, 9_999, 10_000] {
            let id = bot.command(&viewer(), "jobs", page(n)).await;
            let message = bot.original(id).await;
            let ids = custom_ids(&message);
            for custom_id in &ids {
                assert!(ButtonId::parse(custom_id).is_ok(), "page {n}: {custom_id} is refused by the bot");
            }
            assert!(ids.contains(&format!("wsc:v1:refresh:{n}")), "page {n}: {ids:?}");
            shown.push((message, ids));
        }
        let (first, first_ids) = &shown[0];
        assert!(first["content"].as_str().unwrap().contains("page 1 of 10000"), "{first:#}");
        assert!(first_ids.contains(&"wsc:v1:page:2".to_owned()), "{first_ids:?}");
        let (_, last_ids) = &shown[2];
        assert!(last_ids.contains(&"wsc:v1:page:9999".to_owned()), "{last_ids:?}");
        assert!(!last_ids.iter().any(|id| id.contains("10001")), "{last_ids:?}");
        // Older on the first page works like any other.
        let click = bot.click(&viewer(), "wsc:v1:page:2", first.clone()).await;
        let edited = bot.original(click).await;
        assert!(custom_ids(&edited).contains(&"wsc:v1:refresh:2".to_owned()), "{edited:#}");
        bot.still_serves().await;
        bot.assert_payloads_valid();
        bot
    })
    .await;
}

#[tokio::test]
async fn a_wsc_that_hangs_for_30_seconds_is_acknowledged_at_once_and_reported_after_the_timeout() {
    let hanging = || {
        let mut settings = settings();
        let hang = Fault { latency_ms: 30_000, ..Fault::default() };
        settings.faults = vec![(Operation::List, hang.clone()), (Operation::Stop, hang)];
        settings
    };
    // The default timeout: what a deployment sees.
    in_both_fronts(hanging, 10, |bot| async move {
        let started = Instant::now();
        let list = bot.command(&viewer(), "jobs", json!([])).await;
        let long = Duration::from_secs(20);
        let confirm = async {
            // The confirm reads the job by search, which answers; the stop itself hangs.
            let confirm = bot.confirm_stop(SCANNING).await;
            (confirm, bot.original_within(confirm, long).await)
        };
        let list_reply = async {
            let acknowledged = bot.callback(list).await.at.duration_since(started);
            assert!(acknowledged < Duration::from_secs(3), "acknowledged after {acknowledged:?}");
            bot.original_within(list, long).await
        };
        let (list_reply, (confirm, confirm_reply)) = tokio::join!(list_reply, confirm);
        let (list_text, confirm_text) =
            (list_reply["content"].to_string(), confirm_reply["content"].to_string());
        let waited = started.elapsed();
        assert!(list_text.contains(TIMEOUT), "{list_text}");
        assert!(confirm_text.contains(TIMEOUT), "{confirm_text}");
        assert!(waited < long, "one 10 s budget per call, not three: {waited:?}");
        assert_eq!(bot.sim.requests_for(Operation::Stop).len(), 1, "the stop is never sent twice");
        bot.audit_line("timeout", SCANNING).await;
        bot.sim.clear_faults();
        bot.still_serves().await; // the sentinel, then the absence
        assert!(bot.discord.followups(&format!("token-{confirm}")).is_empty(), "nothing announced");
        bot
    })
    .await;
}

#[tokio::test]
async fn a_429_storm_is_not_amplified_and_everyone_hears_why() {
    const PEOPLE: usize = 20;
    let storm = || {
        let mut settings = settings();
        settings.faults = vec![(Operation::List, failing(FaultError::RateLimited))];
        settings
    };
    in_both_fronts(storm, 5, |bot| async move {
        let mut ids = Vec::new();
        for _ in 0..PEOPLE {
            ids.push(bot.command(&viewer(), "jobs", json!([])).await);
        }
        for id in ids {
            let text = final_text(&bot, id).await;
            assert!(text.contains(RATE_LIMITED), "{text}");
        }
        let sent = bot.sim.requests_for(Operation::List).len();
        assert!(sent <= PEOPLE * 3, "at most three tries per interaction: {sent}");
        bot.sim.clear_faults();
        bot.still_serves().await;
        bot
    })
    .await;
}
