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

const NOT_SERVED: &str = "This bot works only in its own team's server. Nothing was done.";

/// The refusal an outsider's interaction got: only to them, and audited as refused.
async fn refused(bot: &Bot, id: u64, what: &str) {
    let answer = first_answer(bot, id).await;
    assert_eq!(answer["type"], 4, "{what}: answered at once, nothing deferred: {answer:#}");
    assert_eq!(answer["data"]["content"], NOT_SERVED, "{what}");
    assert!(is_ephemeral(&answer["data"]), "{what}: only to the one who sent it");
    let id = id.to_string();
    common::audit::wait_for(&format!("refusing {what}"), WAIT, |e| {
        e.get("interaction") == Some(id.as_str()) && e.get("outcome") == Some("refused")
    })
    .await;
}

#[tokio::test]
async fn other_guilds_dms_and_user_installs_are_refused_before_anything_happens() {
    use common::fake_discord::{elsewhere, ELSEWHERE};
    let confirmation = json!({"id": "77", "flags": 64, "components": []});
    for front in FRONTS {
        let bot = start_bot_in(front, FakeDiscord::start().await, settings(), 5, &[]).await;
        for place in ELSEWHERE {
            // The operator could do all of this in the team's server.
            let who = operator();
            let commands = [
                ("jobs", json!([])),
                ("jobs", json!([{"name": "url", "type": 3, "value": "example"}])),
                ("stop", instance_arg(SCANNING)),
                ("cancel", instance_arg(SCHEDULED)),
                ("report", instance_arg(1000000001)),
            ];
            for (sub, options) in commands {
                let id =
                    bot.send(elsewhere(bot.command_json("en-US", "en-US", &who, sub, options), place)).await;
                refused(&bot, id, &format!("{front:?} {place:?} /wsc {sub}")).await;
            }
            let buttons = [
                (format!("wsc:v1:stop:{SCANNING}"), json!({"id": "76"})),
                (format!("wsc:v1:confirm-stop:{SCANNING}"), confirmation.clone()),
                (format!("wsc:v1:report:{SCANNING}"), json!({"id": "76"})),
                ("wsc:v1:page:2".to_owned(), json!({"id": "76"})),
            ];
            for (custom_id, message) in buttons {
                let click = bot.click_json("en-US", "en-US", &who, &custom_id, message);
                let id = bot.send(elsewhere(click, place)).await;
                refused(&bot, id, &format!("{front:?} {place:?} {custom_id}")).await;
            }
            let id = bot.send(elsewhere(bot.autocomplete_json(&who, "stop", ""), place)).await;
            assert!(bot.choices(id).await.is_empty(), "{front:?} {place:?}: no choices");
            let id = id.to_string();
            let audited = common::audit::events_with("interaction", &id);
            assert!(audited.iter().any(|e| e.get("outcome") == Some("refused")), "{audited:?}");
        }
        // In Korean for a Korean sender.
        let dm = elsewhere(
            bot.command_json("ko", "ko", &operator(), "jobs", json!([])),
            common::fake_discord::Elsewhere::Dm,
        );
        let id = bot.send(dm).await;
        let text = first_answer(&bot, id).await["data"]["content"].as_str().unwrap_or_default().to_owned();
        assert!(text.starts_with("이 봇은 자기 팀의 서버에서만"), "{text}");

        assert!(
            bot.sim.requests().is_empty(),
            "{front:?}: WSC saw no call at all: {:#?}",
            bot.sim.requests()
        );
        assert!(
            bot.discord.channel_messages(AUDIT_CHANNEL).is_empty(),
            "{front:?}: strangers cannot write into the team's audit channel"
        );
        bot.still_serves().await;
        bot.assert_payloads_valid();
    }
    assert_eq!(common::panics(), 0);
}

#[tokio::test]
async fn every_guild_in_the_list_is_served() {
    use common::fake_discord::{elsewhere, Elsewhere, GUILD_ID, OTHER_GUILD_ID};
    let guilds = [("DISCORD_GUILD_ID", format!("{GUILD_ID},{OTHER_GUILD_ID}"))];
    let bot = start_bot_in(Front::Gateway, FakeDiscord::start().await, settings(), 5, &guilds).await;
    let registered = async {
        while bot.discord.commands(Some(OTHER_GUILD_ID)).is_empty()
            || bot.discord.commands(Some(GUILD_ID)).is_empty()
        {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(WAIT, registered).await.expect("the commands are registered in both guilds");
    assert!(bot.discord.commands(None).is_empty(), "never globally");
    let list = bot.command_json("en-US", "en-US", &viewer(), "jobs", json!([]));
    let id = bot.send(elsewhere(list, Elsewhere::OtherGuild)).await;
    assert_eq!(
        bot.original(id).await["embeds"].as_array().map_or(0, Vec::len),
        5,
        "the second guild is served"
    );
}
