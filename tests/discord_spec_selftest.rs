//! Self-test of `common::discord_spec`: realistic payloads pass, each kind of violation is caught.

mod common;

use common::discord_spec::{check_request, message_rules, DiscordSpec, SPEC_PATH};
use serde_json::{json, Value};

const CALLBACK: &str = "/api/v10/interactions/123/tok-1/callback";
const ORIGINAL: &str = "/api/v10/webhooks/900/tok-1/messages/@original";
const FOLLOWUP: &str = "/api/v10/webhooks/900/tok-1";
const CHANNEL_MESSAGES: &str = "/api/v10/channels/1/messages";
const CHANNEL_MESSAGE: &str = "/api/v10/channels/1/messages/2";
const GUILD_COMMANDS: &str = "/api/v10/applications/900/guilds/3/commands";
const GLOBAL_COMMANDS: &str = "/api/v10/applications/900/commands";

fn assert_clean(method: &str, path: &str, body: &Value) {
    let violations = check_request(method, path, body);
    assert!(
        violations.is_empty(),
        "{method} {path} should be valid, got:\n{}\nbody: {body:#}",
        violations.join("\n")
    );
}

/// Asserts that some violation contains every one of `needles`; returns all violations.
fn assert_caught(method: &str, path: &str, body: &Value, needles: &[&str]) -> Vec<String> {
    let violations = check_request(method, path, body);
    assert!(
        violations.iter().any(|v| needles.iter().all(|n| v.contains(n))),
        "{method} {path}: expected a violation containing {needles:?}, got:\n{}",
        violations.join("\n")
    );
    violations
}

fn text(n: usize) -> String {
    "x".repeat(n)
}

fn button(custom_id: &str, label: &str, style: u64) -> Value {
    json!({"type": 2, "style": style, "custom_id": custom_id, "label": label})
}

fn row(components: Vec<Value>) -> Value {
    json!({"type": 1, "components": components})
}

fn status_embed() -> Value {
    json!({
        "title": "Scan 1234567890: running",
        "description": "Target `https://example.com` — 42% done",
        "color": 0x3498db,
        "timestamp": "2025-01-02T03:04:05Z",
        "fields": [
            {"name": "Status", "value": "RUNNING", "inline": true},
            {"name": "Requested by", "value": "<@111>", "inline": true}
        ],
        "footer": {"text": "wsc-bot"},
        "author": {"name": "Web Security Checker"}
    })
}

fn stop_row() -> Value {
    row(vec![
        button("wsc:v1:confirm-stop:1234567890", "Stop scan", 4),
        button("wsc:v1:cancel:1234567890", "Cancel", 2),
    ])
}

fn command_registration() -> Value {
    json!([{
        "name": "wsc",
        "type": 1,
        "description": "Web Security Checker scans",
        "name_localizations": {"ko": "웹점검"},
        "description_localizations": {"ko": "웹 보안 점검 스캔"},
        "default_member_permissions": "0",
        "contexts": [0],
        "integration_types": [0],
        "nsfw": false,
        "options": [
            {
                "type": 1,
                "name": "status",
                "description": "Show a scan's status",
                "description_localizations": {"ko": "스캔 상태 보기"},
                "required": false,
                "autocomplete": false,
                "choices": [],
                "options": [{
                    "type": 4,
                    "name": "scan",
                    "description": "Scan id",
                    "required": true,
                    "autocomplete": true,
                    "min_value": 1,
                    "max_value": null,
                    "min_length": null,
                    "max_length": null,
                    "choices": [],
                    "options": [],
                    "channel_types": []
                }],
                "channel_types": [],
                "min_value": null,
                "max_value": null,
                "min_length": null,
                "max_length": null
            },
            {
                "type": 1,
                "name": "start",
                "description": "Start a scan",
                "options": [
                    {"type": 3, "name": "target", "description": "Target URL", "required": true, "max_length": 200},
                    {"type": 3, "name": "profile", "description": "Scan profile", "required": false,
                     "choices": [{"name": "Quick", "value": "quick", "name_localizations": {"ko": "빠른 점검"}},
                                 {"name": "Full", "value": "full"}]}
                ]
            },
            {"type": 1, "name": "list", "description": "List recent scans"}
        ]
    }])
}

// ----- the spec and routing --------------------------------------------------------------------

#[test]
fn spec_loads_once_and_knows_locales() {
    let a = DiscordSpec::get() as *const DiscordSpec;
    let b = DiscordSpec::get() as *const DiscordSpec;
    assert_eq!(a, b);
    assert!(DiscordSpec::get().locales().iter().any(|l| l == "ko"));
}

#[test]
fn routes_resolve_with_literals_winning_over_params() {
    let spec = DiscordSpec::get();
    assert_eq!(
        spec.route_template("PATCH", ORIGINAL).unwrap(),
        "/webhooks/{webhook_id}/{webhook_token}/messages/@original"
    );
    assert_eq!(
        spec.route_template("PATCH", "/api/v10/webhooks/900/tok-1/messages/55").unwrap(),
        "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}"
    );
    assert_eq!(
        spec.route_template("POST", CALLBACK).unwrap(),
        "/interactions/{interaction_id}/{interaction_token}/callback"
    );
    assert_eq!(
        spec.route_template("POST", "/api/v10/webhooks/900/tok-1?wait=true").unwrap(),
        "/webhooks/{webhook_id}/{webhook_token}"
    );
    assert_eq!(
        spec.route_template("PUT", "http://127.0.0.1:4000/api/v10/applications/900/commands").unwrap(),
        "/applications/{application_id}/commands"
    );
}

#[test]
fn unknown_route_is_a_violation() {
    let v = assert_caught("POST", "/api/v10/no/such/route", &json!({}), &["unknown route"]);
    assert_eq!(v.len(), 1, "{v:?}");
    // A known path with a method the spec lacks.
    assert_caught("DELETE", CHANNEL_MESSAGES, &Value::Null, &["unknown route", "no DELETE operation"]);
}

#[test]
fn path_parameters_are_checked() {
    assert_caught(
        "POST",
        "/api/v10/channels/general/messages",
        &json!({"content": "hi"}),
        &["path parameter {channel_id}", "pattern"],
    );
}

// ----- valid payloads --------------------------------------------------------------------------

#[test]
fn deferred_ephemeral_callback_is_valid() {
    assert_clean("POST", CALLBACK, &json!({"type": 5, "data": {"flags": 64}}));
    // serenity's Acknowledge (type 6) sends data: null.
    assert_clean("POST", CALLBACK, &json!({"type": 6, "data": null}));
}

#[test]
fn message_callback_with_embed_and_buttons_is_valid() {
    assert_clean(
        "POST",
        CALLBACK,
        &json!({"type": 4, "data": {
            "content": "Stop scan 1234567890?",
            "embeds": [status_embed()],
            "components": [stop_row()],
            "allowed_mentions": {"parse": []},
            "flags": 64
        }}),
    );
}

#[test]
fn update_message_callback_is_valid() {
    assert_clean(
        "POST",
        CALLBACK,
        &json!({"type": 7, "data": {"embeds": [status_embed()], "components": []}}),
    );
}

#[test]
fn edit_original_with_embeds_and_components_is_valid() {
    assert_clean(
        "PATCH",
        ORIGINAL,
        &json!({
            "content": "",
            "embeds": [status_embed(), {"title": "Findings", "description": "none"}],
            "components": [stop_row(), row(vec![json!({
                "type": 3,
                "custom_id": "wsc:v1:pick:1234567890",
                "placeholder": "Pick a report",
                "options": [
                    {"label": "HTML", "value": "html"},
                    {"label": "PDF", "value": "pdf", "description": "Printable"}
                ]
            })])],
            "allowed_mentions": {"parse": []}
        }),
    );
}

#[test]
fn follow_up_and_channel_messages_are_valid() {
    assert_clean(
        "POST",
        FOLLOWUP,
        &json!({"content": "Scan finished", "flags": 64, "embeds": [status_embed()]}),
    );
    assert_clean(
        "POST",
        CHANNEL_MESSAGES,
        &json!({"content": "Scan 1234567890 finished", "allowed_mentions": {"parse": []}}),
    );
    assert_clean("PATCH", CHANNEL_MESSAGE, &json!({"embeds": [status_embed()], "components": []}));
}

#[test]
fn bulk_command_registration_is_valid() {
    assert_clean("PUT", GUILD_COMMANDS, &command_registration());
    assert_clean("PUT", GLOBAL_COMMANDS, &command_registration());
}

#[test]
fn snowflakes_may_be_integers_and_int64_may_be_strings() {
    let spec = DiscordSpec::get();
    let body = json!({"content": "hi", "allowed_mentions": {"parse": [], "users": [111, "222"]}});
    assert!(spec.validate_request("POST", CHANNEL_MESSAGES, &body).is_empty());
    let mut cmds = command_registration();
    cmds[0]["default_member_permissions"] = json!(8);
    assert!(spec.validate_request("PUT", GUILD_COMMANDS, &cmds).is_empty());
}

#[test]
fn widened_snowflakes_and_integers_keep_their_bounds() {
    // The spec is rewritten at load so that snowflakes take integers and integers take digit
    // strings; what the spec refuses stays refused.
    let mut cmds = command_registration();
    cmds[0]["default_member_permissions"] = json!("-1");
    assert_caught("PUT", GUILD_COMMANDS, &cmds, &["$[0].default_member_permissions: value -1 < minimum 0"]);
    cmds[0]["default_member_permissions"] = json!("18014398509481984");
    assert_caught(
        "PUT",
        GUILD_COMMANDS,
        &cmds,
        &["$[0].default_member_permissions", "> maximum 18014398509481983"],
    );
    cmds[0]["default_member_permissions"] = json!("admin");
    assert_caught("PUT", GUILD_COMMANDS, &cmds, &["$[0].default_member_permissions", "expected integer"]);
    let body = json!({"content": "hi", "allowed_mentions": {"users": [-1, "x1", 1.5]}});
    let v = assert_caught(
        "POST",
        CHANNEL_MESSAGES,
        &body,
        &["$.allowed_mentions.users[0]: value -1 < minimum 0"],
    );
    assert!(
        v.iter().any(|m| m.starts_with("$.allowed_mentions.users[1]: \"x1\" does not match pattern")),
        "{v:?}"
    );
    assert!(v.iter().any(|m| m.starts_with("$.allowed_mentions.users[2]: expected ")), "{v:?}");
}

#[test]
fn formats_and_enumerations_are_checked() {
    let body = json!({"embeds": [{"title": "t", "url": "not a url", "timestamp": "yesterday"}]});
    let v = assert_caught("PATCH", ORIGINAL, &body, &["$.embeds[0].url", "is not a valid uri"]);
    assert!(
        v.iter().any(|m| m.starts_with("$.embeds[0].timestamp: \"yesterday\" is not a valid date-time")),
        "{v:?}"
    );
    // An enumeration (written in the spec as `oneOf` of `const`) is one violation listing the values.
    let body =
        json!({"components": [row(vec![json!({"type": 2, "style": 9, "custom_id": "a", "label": "A"})])]});
    let v = check_request("PATCH", ORIGINAL, &body);
    assert_eq!(
        v,
        vec!["$.components[0].components[0].style: value 9 not one of [1, 2, 3, 4, 5, 6]".to_owned()]
    );
}

// ----- violations ------------------------------------------------------------------------------

#[test]
fn embed_title_257_is_caught_with_its_json_path() {
    let mut embed = status_embed();
    embed["title"] = json!(text(257));
    let body = json!({"type": 4, "data": {"embeds": [embed]}});
    let v = check_request("POST", CALLBACK, &body);
    // The schema (picking the type-4 branch) and the rules agree: one violation, not noise from
    // other callback types.
    assert_eq!(v, vec!["$.data.embeds[0].title: length 257 > maxLength 256".to_owned()]);
    let spec_only = DiscordSpec::get().validate_request("POST", CALLBACK, &body);
    assert_eq!(spec_only, v);
}

#[test]
fn button_label_81_is_caught() {
    let body = json!({"type": 4, "data": {"components": [row(vec![button("a", &text(81), 1)])]}});
    assert_caught(
        "POST",
        CALLBACK,
        &body,
        &["$.data.components[0].components[0].label", "81 > maxLength 80"],
    );
}

#[test]
fn custom_id_101_is_caught() {
    let body = json!({"components": [row(vec![button(&text(101), "Go", 1)])]});
    assert_caught(
        "PATCH",
        ORIGINAL,
        &body,
        &["$.components[0].components[0].custom_id", "101 > maxLength 100"],
    );
}

#[test]
fn duplicate_custom_ids_are_caught() {
    let body = json!({"components": [
        row(vec![button("wsc:v1:stop:1", "Stop", 4)]),
        row(vec![button("wsc:v1:stop:1", "Stop again", 4)])
    ]});
    let v = assert_caught(
        "PATCH",
        ORIGINAL,
        &body,
        &["$.components[1].components[0].custom_id", "duplicate custom_id"],
    );
    assert!(v[0].contains("$.components[0].components[0].custom_id"), "{v:?}");
}

#[test]
fn six_action_rows_are_caught() {
    let rows: Vec<Value> = (0..6).map(|i| row(vec![button(&format!("b{i}"), "B", 1)])).collect();
    assert_caught(
        "POST",
        CHANNEL_MESSAGES,
        &json!({"content": "x", "components": rows}),
        &["$.components", "6 action rows > 5"],
    );
}

#[test]
fn six_buttons_in_a_row_are_caught() {
    let buttons: Vec<Value> = (0..6).map(|i| button(&format!("b{i}"), "B", 1)).collect();
    let body = json!({"type": 7, "data": {"components": [row(buttons)]}});
    // The spec says maxItems 5 as well; the rules add the plain-words version.
    assert_caught("POST", CALLBACK, &body, &["$.data.components[0].components", "6 items > maxItems 5"]);
    assert_caught("POST", CALLBACK, &body, &["6 buttons in one action row > 5"]);
}

#[test]
fn select_must_be_alone_and_have_at_most_25_options() {
    let options: Vec<Value> =
        (0..26).map(|i| json!({"label": format!("o{i}"), "value": format!("v{i}")})).collect();
    let select = json!({"type": 3, "custom_id": "pick", "options": options});
    let body = json!({"components": [row(vec![select, button("b", "B", 1)])]});
    let v = assert_caught(
        "PATCH",
        ORIGINAL,
        &body,
        &["$.components[0].components[0].options", "26 items > maxItems 25"],
    );
    assert!(v.iter().any(|m| m.contains("must be alone")), "{}", v.join("\n"));
}

#[test]
fn eleven_embeds_are_caught() {
    let embeds: Vec<Value> = (0..11).map(|i| json!({"title": format!("e{i}")})).collect();
    assert_caught("POST", FOLLOWUP, &json!({"embeds": embeds}), &["$.embeds", "11 items > maxItems 10"]);
}

#[test]
fn total_embed_text_6001_is_caught() {
    // Two embeds, each within every per-field limit: 4096 + 1905 = 6001.
    let body = json!({"embeds": [
        {"description": text(4096)},
        {"description": text(1900), "footer": {"text": "12345"}}
    ]});
    let v = message_rules(&body);
    assert_eq!(v.len(), 1, "{v:?}");
    assert!(v[0].starts_with("$.embeds: total embed text 6001 chars > 6000"), "{v:?}");
    assert_caught("PATCH", ORIGINAL, &body, &["total embed text 6001"]);
    // 6000 exactly is fine; characters, not bytes, count.
    let ok = json!({"embeds": [{"description": "한".repeat(4096)}, {"title": "é".repeat(256), "description": text(1648)}]});
    assert!(message_rules(&ok).is_empty(), "{:?}", message_rules(&ok));
}

#[test]
fn content_2001_is_caught_even_where_the_spec_allows_4000() {
    let body = json!({"content": text(2001)});
    // The spec says maxLength 4000 for channel messages; Discord's documented limit is 2000.
    assert!(DiscordSpec::get().validate_request("POST", CHANNEL_MESSAGES, &body).is_empty());
    assert_caught("POST", CHANNEL_MESSAGES, &body, &["$.content: length 2001 > maxLength 2000"]);
    assert_caught(
        "POST",
        CALLBACK,
        &json!({"type": 4, "data": {"content": text(2001)}}),
        &["$.data.content: length 2001 > maxLength 2000"],
    );
}

#[test]
fn field_value_1025_is_caught() {
    let mut embed = status_embed();
    embed["fields"][1]["value"] = json!(text(1025));
    assert_caught(
        "PATCH",
        ORIGINAL,
        &json!({"embeds": [embed]}),
        &["$.embeds[0].fields[1].value", "1025 > maxLength 1024"],
    );
}

#[test]
fn empty_field_value_and_empty_message_are_caught() {
    assert_caught(
        "POST",
        FOLLOWUP,
        &json!({"embeds": [{"fields": [{"name": "a", "value": ""}]}]}),
        &["$.embeds[0].fields[0].value", "must not be empty"],
    );
    assert_caught(
        "POST",
        CALLBACK,
        &json!({"type": 4, "data": {"content": ""}}),
        &["$.data", "empty message"],
    );
}

#[test]
fn command_description_101_is_caught() {
    let mut cmds = command_registration();
    cmds[0]["options"][1]["options"][0]["description"] = json!(text(101));
    assert_caught(
        "PUT",
        GUILD_COMMANDS,
        &cmds,
        &["$[0].options[1].options[0].description", "101 > maxLength 100"],
    );
    let mut top = command_registration();
    top[0]["description"] = json!(text(101));
    assert_caught("PUT", GUILD_COMMANDS, &top, &["$[0].description", "101 > maxLength 100"]);
}

#[test]
fn command_names_and_localizations_are_checked() {
    let mut cmds = command_registration();
    cmds[0]["name"] = json!("WSC");
    assert_caught("PUT", GUILD_COMMANDS, &cmds, &["$[0].name", "lowercase"]);

    let mut cmds = command_registration();
    cmds[0]["name_localizations"] = json!({"ko": "웹 점검"});
    assert_caught("PUT", GUILD_COMMANDS, &cmds, &["$[0].name_localizations.ko", "' '"]);

    let mut cmds = command_registration();
    cmds[0]["description_localizations"] = json!({"kr": "스캔"});
    assert_caught("PUT", GUILD_COMMANDS, &cmds, &["$[0].description_localizations.kr", "unknown locale"]);

    let mut cmds = command_registration();
    cmds[0]["options"][1]["options"][0]["description_localizations"] = json!({"ko": "가".repeat(101)});
    assert_caught("PUT", GUILD_COMMANDS, &cmds, &["description_localizations.ko", "101 > maxLength 100"]);
}

#[test]
fn command_option_structure_is_checked() {
    let mut cmds = command_registration();
    let many: Vec<Value> =
        (0..26).map(|i| json!({"type": 1, "name": format!("s{i}"), "description": "d"})).collect();
    cmds[0]["options"] = json!(many);
    assert_caught("PUT", GUILD_COMMANDS, &cmds, &["$[0].options", "26 items > maxItems 25"]);

    let mut cmds = command_registration();
    cmds[0]["options"][1]["options"] = json!([
        {"type": 3, "name": "profile", "description": "p", "required": false},
        {"type": 3, "name": "target", "description": "t", "required": true}
    ]);
    assert_caught("PUT", GUILD_COMMANDS, &cmds, &["required options must come before optional ones"]);

    let mut cmds = command_registration();
    cmds.as_array_mut().unwrap().push(json!({"name": "wsc", "description": "again"}));
    assert_caught("PUT", GUILD_COMMANDS, &cmds, &["$[1].name", "duplicate command"]);
}

#[test]
fn bad_callback_type_is_reported_plainly() {
    // Every callback branch is ruled out by `type`: one violation listing what is accepted.
    let v = check_request("POST", CALLBACK, &json!({"type": 99}));
    assert_eq!(v, vec!["$.type: value 99 not one of [1, 4, 5, 6, 7, 8, 9, 12, 13]".to_owned()]);
}

#[test]
fn union_errors_point_at_the_meant_branch() {
    // A type-7 callback with a wrongly typed field: the UPDATE_MESSAGE branch is reported, not
    // "type is not 8" from the autocomplete branch.
    let v = check_request("POST", CALLBACK, &json!({"type": 7, "data": {"content": 5}}));
    assert_eq!(v, vec!["$.data.content: expected string or null, got number 5".to_owned()]);
    // A button missing its style inside a row: the button branch is reported, not the selects.
    let v = check_request(
        "POST",
        CALLBACK,
        &json!({"type": 4, "data": {"components": [{"type": 1, "components": [
            {"type": 2, "custom_id": "a", "label": "A"}
        ]}]}}),
    );
    assert!(
        v.iter().any(|m| m == "$.data.components[0].components[0]: missing required property \"style\""),
        "{v:?}"
    );
    assert!(!v.iter().any(|m| m.contains(".type:")), "{v:?}");
}

#[test]
fn components_v2_need_the_flag_and_are_checked_too() {
    let container = json!({"type": 17, "components": [
        {"type": 10, "content": "Scan 1234567890 finished"},
        {"type": 9, "components": [{"type": 10, "content": "Report"}],
         "accessory": {"type": 2, "style": 1, "custom_id": "wsc:v1:report:1", "label": "Open"}}
    ]});
    assert_clean("PATCH", ORIGINAL, &json!({"flags": 1 << 15, "components": [container.clone()]}));
    assert_caught(
        "PATCH",
        ORIGINAL,
        &json!({"components": [container.clone()]}),
        &["$.components[0]", "IS_COMPONENTS_V2"],
    );
    assert_caught(
        "PATCH",
        ORIGINAL,
        &json!({"flags": 1 << 15, "components": [container, row(vec![button("wsc:v1:report:1", "Again", 1)])]}),
        &["$.components[1].components[0].custom_id", "duplicate custom_id"],
    );
}

#[test]
fn link_buttons_and_autocomplete_results_are_checked() {
    let body = json!({"components": [row(vec![
        json!({"type": 2, "style": 5, "label": "Report", "url": "https://example.com/r/1"}),
        json!({"type": 2, "style": 5, "label": "Broken", "custom_id": "x"}),
    ])]});
    let v = check_request("PATCH", ORIGINAL, &body);
    assert!(v.iter().any(|m| m.contains("needs a url")), "{v:?}");
    assert!(v.iter().any(|m| m.contains("cannot have a custom_id")), "{v:?}");

    let choices: Vec<Value> =
        (0..26).map(|i| json!({"name": format!("scan {i}"), "value": format!("{i}")})).collect();
    assert_caught(
        "POST",
        CALLBACK,
        &json!({"type": 8, "data": {"choices": choices}}),
        &["$.data.choices", "26 items > maxItems 25"],
    );
    assert_clean(
        "POST",
        CALLBACK,
        &json!({"type": 8, "data": {"choices": [{"name": "scan 1", "value": "1"}]}}),
    );
}

/// A fresh clone has everything the tests need: the spec is in the repository, with its licence
/// and where it came from.
#[test]
fn the_spec_is_vendored_with_its_licence_and_origin() {
    let root = env!("CARGO_MANIFEST_DIR");
    assert!(
        SPEC_PATH.starts_with(root) && !SPEC_PATH.contains(".."),
        "read from inside the repository: {SPEC_PATH}"
    );
    let fixtures = std::path::Path::new(root).join("tests/fixtures");
    let licence = std::fs::read_to_string(fixtures.join("discord-openapi.LICENSE")).unwrap();
    assert!(licence.starts_with("MIT License") && licence.contains("Copyright 2023 Discord"), "{licence}");
    let origin = std::fs::read_to_string(fixtures.join("discord-openapi.README.md")).unwrap();
    assert!(
        origin.contains("discord/discord-api-spec")
            && origin.contains("74fda0fad044407ea280043a03ffc9bc64c4e49e")
    );
    assert!(!DiscordSpec::get().locales().is_empty(), "the vendored spec loads");
}

// ----- the reason modal (callback type 9) ------------------------------------------------------

/// The modal the bot opens, as serenity serializes it.
fn reason_modal(lang: wsc_bot::bot::i18n::Lang) -> Value {
    use wsc_bot::bot::action::Act;
    let modal = wsc_bot::bot::view::reason_modal(lang, Act::Stop, 9999999999999999999, Some(1), Some("x"));
    serde_json::to_value(serenity::all::CreateInteractionResponse::Modal(modal)).unwrap()
}

#[test]
fn the_reason_modal_is_valid_and_a_bad_one_is_caught() {
    for lang in [wsc_bot::bot::i18n::Lang::En, wsc_bot::bot::i18n::Lang::Ko] {
        let modal = reason_modal(lang);
        assert_eq!(modal["type"], 9);
        assert_clean("POST", CALLBACK, &modal);
    }
    let mut long_title = reason_modal(wsc_bot::bot::i18n::Lang::En);
    long_title["data"]["title"] = json!("t".repeat(46));
    assert_caught("POST", CALLBACK, &long_title, &["title"]);
    let mut huge_field = reason_modal(wsc_bot::bot::i18n::Lang::En);
    huge_field["data"]["components"][0]["components"][0]["max_length"] = json!(4001);
    assert_caught("POST", CALLBACK, &huge_field, &["max_length"]);
}
