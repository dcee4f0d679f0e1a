//! Crafted input from Discord's side, in both front ends: altered `custom_id`s and odd command
//! options. Each gets a plain sentence, only to the person who sent it; no cancel or stop
//! reaches WSC, nothing panics, and the bot goes on serving.

mod common;

use common::bot::*;
use common::fake_discord::FakeDiscord;
use common::settings;
use serde_json::{json, Value};

const BAD_BUTTON: &str = "was altered, so nothing was done";

/// The answer the member sees first: the callback's message.
async fn first_answer(bot: &Bot, id: u64) -> Value {
    bot.callback(id).await.body
}

#[tokio::test]
async fn crafted_custom_ids_change_nothing() {
    let overlong = format!("wsc:v1:stop:{SCANNING}:{}", "9".repeat(200));
    let crafted = [
        format!("wsc:v2:stop:{SCANNING}"),                        // another version
        format!("wsc:v0:confirm-stop:{SCANNING}"),                // an older one
        format!("wsc:v1:delete:{SCANNING}"),                      // unknown verb
        format!("wsc:v1:confirm-nuke:{SCANNING}"),                // unknown action
        "wsc:v1:confirm-stop:abc".to_owned(),                     // not a number
        "wsc:v1:confirm-stop:-1".to_owned(),                      // negative
        "wsc:v1:confirm-stop:0".to_owned(),                       // zero
        "wsc:v1:confirm-stop:99999999999999999999999".to_owned(), // beyond u64
        format!("wsc:v1:confirm-stop:{SCANNING}:not-a-message"),  // bad origin
        format!("wsc:v1:confirm-stop:{SCANNING}:1:2:3"),          // extra fields
        format!("WSC:V1:CONFIRM-STOP:{SCANNING}"),                // case changed
        format!("wsc:v1:confirm-stop:{SCANNING}\n"),              // trailing newline
        format!("wsc:v1:confirm-stop: {SCANNING}"),               // space
        format!("wsc:v1:confirm-stop:٣{SCANNING}"),               // non-ASCII digit
        overlong,
        String::new(),
        "wsc".to_owned(),
        "wsc:v1:".to_owned(),
        "wsc:v1:page:abc".to_owned(),
    ];
    for front in FRONTS {
        let bot = start_bot_in(front, FakeDiscord::start().await, settings(), 5, &[]).await;
        let list = bot.command(&operator(), "jobs", json!([])).await;
        let jobs_message = bot.original(list).await;
        for custom_id in &crafted {
            // The operator could stop a scan: only the altered button stands in the way.
            let id = bot.click(&operator(), custom_id, jobs_message.clone()).await;
            let answer = first_answer(&bot, id).await;
            let text = answer["data"]["content"].as_str().unwrap_or_default().to_owned();
            assert!(text.contains(BAD_BUTTON), "{front:?} {custom_id:?}: {answer:#}");
            assert!(is_ephemeral(&answer["data"]), "{custom_id:?}: only to the one who clicked");
        }
        assert_eq!(bot.wsc_actions(), 0, "{front:?}: no cancel or stop reached WSC");
        bot.still_serves().await;
        bot.assert_payloads_valid();
    }
    assert_eq!(common::panics(), 0);
}

/// `/wsc <sub>` with `options`, from the operator.
async fn odd_command(bot: &Bot, sub: &str, options: Value) -> String {
    let id = bot.command(&operator(), sub, options).await;
    let answer = first_answer(bot, id).await;
    let message = match answer["type"].as_u64() {
        // Deferred: the sentence comes in the edit.
        Some(5) => bot.original(id).await,
        _ => answer["data"].clone(),
    };
    assert_inert(&message);
    message["content"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn crafted_options_get_a_sentence_and_act_on_nothing() {
    let instance = |value: Value, kind: u8| json!([{"name": "instance_id", "type": kind, "value": value}]);
    let cases: Vec<(&str, Value, &str)> = vec![
        ("nuke", json!([]), "not known to this version"),
        ("stop", json!([]), "Give the job's instance number"),
        ("cancel", instance(json!(""), 3), "Give the job's instance number"),
        ("stop", instance(json!("1000000006; cancel 1000000008"), 3), "not a job number"),
        ("stop", instance(json!("9".repeat(5000)), 3), "too long"),
        ("stop", instance(json!("１０００００００００６"), 3), "not a job number"),
        ("stop", instance(json!("<@&1> @everyone"), 3), "not a job number"),
        ("report", instance(json!("../../etc/passwd"), 3), "not a job number"),
        ("jobs", json!([{"name": "status", "type": 4, "value": 9999}]), "not one of WSC's status codes"),
        ("jobs", json!([{"name": "url", "type": 3, "value": "x".repeat(10_000)}]), ""),
        ("jobs", json!([{"name": "page", "type": 4, "value": -5}]), ""),
        ("jobs", json!([{"name": "page", "type": 4, "value": i64::MAX}]), ""),
        ("jobs", json!([{"name": "surprise", "type": 3, "value": "x"}]), ""),
    ];
    for front in FRONTS {
        let bot = start_bot_in(front, FakeDiscord::start().await, settings(), 5, &[]).await;
        for (sub, options, expected) in &cases {
            let text = odd_command(&bot, sub, options.clone()).await;
            assert!(text.contains(expected), "{front:?} /wsc {sub} {options}: {text}");
        }
        assert_eq!(bot.wsc_actions(), 0, "{front:?}: no cancel or stop reached WSC");
        bot.still_serves().await;
        bot.assert_payloads_valid();
    }
    assert_eq!(common::panics(), 0);
}
