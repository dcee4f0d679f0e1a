//! Crafted input from Discord's side, in both front ends: altered `custom_id`s and odd command
//! options. An altered button or a bad option gets a plain sentence, only to the person who sent
//! it, and reaches no WSC call; options Discord's own client would not send (a page out of range,
//! an unknown option, an overlong filter) are read as the nearest valid request. No cancel or stop
//! reaches WSC, nothing panics, and the bot goes on serving.

mod common;

use common::bot::*;
use common::fake_discord::{FakeDiscord, CHANNEL_ID};
use common::settings;
use serde_json::{json, Value};
use wsc_bot::wsc::Operation;

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
        "wsc:v1:reason-stop:abc".to_owned(), // the modal's button, altered
        format!("wsc:v1:reason-stop:{SCANNING}:1:2"), // extra fields
        format!("wsc:v1:reason-halt:{SCANNING}"), // unknown action
        "wsc:v1:rescan:abc".to_owned(),      // rescan of no number
        format!("wsc:v1:rescan:{SCANNING}:1"), // extra field
        "wsc:v1:confirm-scan:short".to_owned(), // not a pending id
        "wsc:v1:confirm-scan:ABCDEFGHIJKL".to_owned(), // upper case
        "wsc:v1:confirm-scan:../../etc/pa".to_owned(), // path in it
        "wsc:v1:confirm-scan:abcdefghijkl:x".to_owned(), // extra field
        "wsc:v1:confirm-stop-all:".to_owned(), // empty id
        "wsc:v1:confirm-stop-all:abcdefghijk%".to_owned(), // a symbol
    ];
    for front in FRONTS {
        let bot = start_bot_in(front, FakeDiscord::start().await, settings(), 5, &[]).await;
        for custom_id in &crafted {
            // Discord only sends clicks on buttons that are on a message: one carrying the
            // altered button, as a tampered or another version's message would.
            let button = json!({"type": 2, "style": 4, "label": "Stop", "custom_id": custom_id});
            let message = bot.discord.insert_message(
                CHANNEL_ID,
                json!({"content": "jobs", "components": [{"type": 1, "components": [button]}]}),
            );
            // The operator could stop a scan: only the altered button stands in the way.
            let id = bot.click(&operator(), custom_id, message).await;
            let answer = first_answer(&bot, id).await;
            assert_eq!(answer["type"], 4, "{front:?} {custom_id:?}: a new message, not an update");
            let text = answer["data"]["content"].as_str().unwrap_or_default().to_owned();
            assert!(text.contains(BAD_BUTTON), "{front:?} {custom_id:?}: {answer:#}");
            assert!(is_ephemeral(&answer["data"]), "{custom_id:?}: only to the one who clicked");
        }
        // The sentinel: the next interaction, served in full. WSC saw its list and nothing else.
        bot.still_serves().await;
        let seen: Vec<_> = bot.sim.requests().into_iter().map(|r| r.operation).collect();
        assert_eq!(seen, [Some(Operation::List)], "{front:?}: no altered button reached WSC");
        bot.assert_payloads_valid();
        bot.finish().await;
    }
    assert_eq!(common::panics(), 0);
}

/// What an odd command should lead to.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// Refused at once, only to the sender, with no WSC call.
    Refused,
    /// Read as the nearest valid `/wsc jobs`: the channel sees the result of this one WSC read.
    Jobs(Operation),
    /// Read as `/wsc jobs` on its first page, unfiltered: the channel sees the list, which WSC
    /// gave only if no fresh one was known.
    FirstPage,
}

/// `/wsc <sub>` with `options`, from the operator: the sentence the operator ends up with, and
/// whether only they see it.
async fn odd_command(bot: &Bot, sub: &str, options: Value) -> (String, bool, Value) {
    let id = bot.command(&operator(), sub, options).await;
    let answer = first_answer(bot, id).await;
    let (message, private) = match answer["type"].as_u64() {
        // Deferred: the sentence comes in the edit; the deferral decided who sees it.
        Some(5) => (bot.original(id).await, is_ephemeral(&answer["data"])),
        _ => (answer["data"].clone(), is_ephemeral(&answer["data"])),
    };
    assert_inert(&message);
    (message["content"].as_str().unwrap_or_default().to_owned(), private, message)
}

#[tokio::test]
async fn crafted_options_get_a_sentence_and_act_on_nothing() {
    use Expect::*;
    let instance = |value: Value, kind: u8| json!([{"name": "instance_id", "type": kind, "value": value}]);
    let listed = "**Scan jobs** · page 1 of 2 · 8 job(s)";
    let cases: Vec<(&str, Value, &str, Expect)> = vec![
        ("nuke", json!([]), "This command is not known to this version of the bot.", Refused),
        ("stop", json!([]), "Give the job's instance number", Refused),
        ("cancel", instance(json!(""), 3), "Give the job's instance number", Refused),
        ("stop", instance(json!("1000000006; cancel 1000000008"), 3), "not a job number", Refused),
        ("stop", instance(json!("9".repeat(5000)), 3), "too long", Refused),
        ("stop", instance(json!("１０００００００００６"), 3), "not a job number", Refused),
        ("stop", instance(json!("<@&1> @everyone"), 3), "not a job number", Refused),
        ("report", instance(json!("../../etc/passwd"), 3), "not a job number", Refused),
        (
            "jobs",
            json!([{"name": "status", "type": 4, "value": 9999}]),
            "not one of WSC's status codes",
            Refused,
        ),
        (
            "jobs",
            json!([{"name": "url", "type": 3, "value": "x".repeat(10_000)}]),
            "(the keyword was shortened to 77 characters so the buttons can carry it)",
            Jobs(Operation::Search),
        ),
        ("jobs", json!([{"name": "page", "type": 4, "value": -5}]), listed, FirstPage),
        (
            "jobs",
            json!([{"name": "page", "type": 4, "value": i64::MAX}]),
            "Page 10000 is past the last page (2): use ◀ to go back.",
            Jobs(Operation::List),
        ),
        ("jobs", json!([{"name": "surprise", "type": 3, "value": "x"}]), listed, FirstPage),
        ("stop", with_reason(SCANNING, &"x".repeat(201)), "The reason has 201 characters", Refused),
        ("cancel", with_reason(SCHEDULED, &"@everyone ".repeat(500)), "at most 200 fit", Refused),
        ("stop", with_reason(SCANNING, &"<@&1>\n".repeat(40)), "The reason has 239 characters", Refused),
        (
            "scan",
            json!([{"name": "url", "type": 3, "value": "https://shop.example.com/"}]),
            "Scanning from chat is off",
            Refused,
        ),
        (
            "scan",
            json!([{"name": "url", "type": 3, "value": "https://shop.example.com/"},
                   {"name": "speed", "type": 3, "value": "<@&1> @everyone"}]),
            "is not a scan speed",
            Refused,
        ),
        ("scan", json!([]), "Scanning from chat is off", Refused),
    ];
    for front in FRONTS {
        let bot = start_bot_in(front, FakeDiscord::start().await, settings(), 5, &[]).await;
        // Once a first page was listed, it is fresh for the rest of the test (under a minute):
        // the sentinel, and a case read as the first page, are answered from it.
        let mut listed_once = false;
        for (sub, options, expected, expect) in &cases {
            let case =
                format!("{front:?} /wsc {sub} {}", options.to_string().chars().take(80).collect::<String>());
            bot.sim.clear_requests();
            let (text, private, message) = odd_command(&bot, sub, options.clone()).await;
            assert!(text.contains(expected), "{case}: {text}");
            assert!(
                !custom_ids(&message).iter().any(|id| id.starts_with("wsc:v1:confirm-")),
                "{case}: no confirmation to act on"
            );
            // The sentinel: the next interaction, served in full; then what WSC saw.
            bot.still_serves().await;
            let seen: Vec<_> = bot.sim.requests().into_iter().filter_map(|r| r.operation).collect();
            let first_page = if listed_once { vec![] } else { vec![Operation::List] };
            listed_once = true;
            match expect {
                Refused => {
                    assert!(private, "{case}: only the sender sees the refusal");
                    assert_eq!(seen, first_page, "{case}: no WSC call but the sentinel's");
                }
                Jobs(read) => {
                    assert!(!private, "{case}: `/wsc jobs` shows the channel one status");
                    assert_eq!(
                        seen,
                        [[*read].as_slice(), &first_page].concat(),
                        "{case}: one read, then the sentinel's"
                    );
                }
                FirstPage => {
                    assert!(!private, "{case}: `/wsc jobs` shows the channel one status");
                    assert_eq!(seen, first_page, "{case}: the first page, from WSC once, then fresh");
                }
            }
        }
        assert_eq!(bot.wsc_actions(), 0, "{front:?}: no cancel or stop reached WSC");
        bot.assert_payloads_valid();
        bot.finish().await;
    }
    assert_eq!(common::panics(), 0);
}

fn with_reason(instance: u64, reason: &str) -> Value {
    let mut options = instance_arg(instance);
    options.as_array_mut().unwrap().push(json!({"name": "reason", "type": 3, "value": reason}));
    options
}

#[tokio::test]
async fn crafted_modal_submissions_change_nothing() {
    const ALTERED_FORM: &str = "The reason form came back empty or altered, so nothing was done.";
    let modal = format!("wsc:v1:reason-stop:{SCANNING}");
    let row = |components: Value| json!([{"type": 1, "components": components}]);
    let input = |id: &str, value: &str| json!({"type": 4, "custom_id": id, "value": value});
    let cases: Vec<(String, Value, &str)> = vec![
        (modal.clone(), row(json!([input("why", "owner asked")])), ALTERED_FORM),
        (modal.clone(), row(json!([input("Reason", "owner asked")])), ALTERED_FORM),
        (modal.clone(), json!([]), ALTERED_FORM),
        (modal.clone(), row(json!([{"type": 4, "custom_id": "reason"}])), ALTERED_FORM),
        (modal.clone(), row(json!([input("reason", "a"), input("reason", "b")])), ALTERED_FORM),
        (modal.clone(), row(json!([input("reason", " \n\t ")])), ALTERED_FORM),
        (
            modal.clone(),
            row(json!([{"type": 2, "style": 1, "label": "x", "custom_id": "reason"}])),
            ALTERED_FORM,
        ),
        (
            modal.clone(),
            row(json!([input("reason", &"@everyone".repeat(444))])),
            "The reason has 3996 characters",
        ),
        (format!("wsc:v1:confirm-stop:{SCANNING}"), row(json!([input("reason", "x")])), BAD_BUTTON),
        (format!("wsc:v1:stop:{SCANNING}"), row(json!([input("reason", "x")])), BAD_BUTTON),
        (format!("wsc:v2:reason-stop:{SCANNING}"), row(json!([input("reason", "x")])), BAD_BUTTON),
        (format!("wsc:v1:reason-stop:{SCANNING}:x"), row(json!([input("reason", "x")])), BAD_BUTTON),
        (String::new(), row(json!([input("reason", "x")])), BAD_BUTTON),
    ];
    for front in FRONTS {
        let bot = start_bot_in(front, FakeDiscord::start().await, settings(), 5, &[]).await;
        let ask = bot.command(&operator(), "stop", instance_arg(SCANNING)).await;
        let confirmation = bot.original(ask).await;
        for (custom_id, components, expected) in &cases {
            let case = format!(
                "{front:?} {custom_id:?} {}",
                components.to_string().chars().take(80).collect::<String>()
            );
            bot.sim.clear_requests();
            let id = bot.submit_modal(&operator(), custom_id, components.clone(), confirmation.clone()).await;
            let answer = first_answer(&bot, id).await;
            assert_eq!(answer["type"], 4, "{case}: {answer:#}");
            assert!(answer["data"]["content"].as_str().unwrap().contains(expected), "{case}: {answer:#}");
            assert!(is_ephemeral(&answer["data"]), "{case}: only to the sender");
            assert_inert(&answer);
            assert!(bot.sim.requests().is_empty(), "{case}: no WSC call");
        }
        // A modal for a job WSC does not know: read once, nothing done.
        let unknown =
            bot.submit_modal(&operator(), "wsc:v1:reason-stop:999", reason_field("x"), confirmation).await;
        assert!(bot.original(unknown).await["content"].as_str().unwrap().contains("No job 999"));
        bot.still_serves().await;
        assert_eq!(bot.wsc_actions(), 0, "{front:?}: no cancel or stop reached WSC");
        assert_eq!(bot.sim.phase(SCANNING), Some(wsc_bot::wsc::sim::Phase::Scanning));
        bot.assert_payloads_valid();
        bot.finish().await;
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
                ("scan", json!([{"name": "url", "type": 3, "value": "https://shop.example.com/"}])),
                ("stop-all", json!([])),
            ];
            for (sub, options) in commands {
                let id =
                    bot.send(elsewhere(bot.command_json("en-US", "en-US", &who, sub, options), place)).await;
                refused(&bot, id, &format!("{front:?} {place:?} /wsc {sub}")).await;
            }
            let buttons = [
                (format!("wsc:v1:stop:{SCANNING}"), 0),
                (format!("wsc:v1:confirm-stop:{SCANNING}"), 64),
                (format!("wsc:v1:report:{SCANNING}"), 0),
                ("wsc:v1:page:2".to_owned(), 0),
                (format!("wsc:v1:rescan:{SCANNING}"), 0),
                ("wsc:v1:confirm-scan:abcdefghijkl".to_owned(), 64),
                ("wsc:v1:confirm-stop-all:abcdefghijkl".to_owned(), 64),
            ];
            for (custom_id, flags) in buttons {
                // Discord sends clicks only on buttons that are on a message: the bot's own,
                // public or (the confirmation) only to the clicker.
                let button = json!({"type": 2, "style": 4, "label": "Go", "custom_id": custom_id});
                let message = bot.discord.insert_message(
                    CHANNEL_ID,
                    json!({"content": "x", "flags": flags, "components": [{"type": 1, "components": [button]}]}),
                );
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
        bot.finish().await;
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
    bot.finish().await;
}
