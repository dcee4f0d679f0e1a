//! Drives a real serenity 0.12.5 client through the fake Discord in `common::fake_discord`:
//! handshake, slash command → type 4, button → type 7, deferred reply → edit-original and
//! follow-up, autocomplete, op 7 → RESUME, abrupt close → RESUME with replay, REST fault
//! injection and latency, and the verdict: each rule of Discord's the fake enforces is broken once
//! on purpose and must show up in it.

mod common;

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use serenity::all::{
    AutocompleteChoice, ButtonStyle, Client, ClientBuilder, Context, CreateActionRow,
    CreateAutocompleteResponse, CreateButton, CreateInteractionResponse, CreateInteractionResponseFollowup,
    CreateInteractionResponseMessage, EditInteractionResponse, EventHandler, GatewayIntents, HttpBuilder,
    Interaction, ShardManager,
};

use common::fake_discord::{self as fake, FakeDiscord, Member, RestCall};
use common::secrets::DISCORD_TOKEN;

const T: Duration = Duration::from_secs(5);

struct Handler;

#[serenity::async_trait]
impl EventHandler for Handler {
    async fn interaction_create(&self, ctx: Context, interaction: Interaction) {
        let result = match interaction {
            Interaction::Command(cmd) if cmd.data.name == "slow" => {
                // Defer ephemerally, edit the original, then a follow-up.
                async {
                    cmd.defer_ephemeral(&ctx.http).await?;
                    cmd.edit_response(&ctx.http, EditInteractionResponse::new().content("done slowly"))
                        .await?;
                    cmd.create_followup(
                        &ctx.http,
                        CreateInteractionResponseFollowup::new().content("follow-up").ephemeral(true),
                    )
                    .await?;
                    Ok::<(), serenity::Error>(())
                }
                .await
            }
            Interaction::Command(cmd) => {
                let instance = cmd
                    .data
                    .options
                    .first()
                    .and_then(|sub| match &sub.value {
                        serenity::all::CommandDataOptionValue::SubCommand(opts) => {
                            opts.first().and_then(|o| o.value.as_str().map(str::to_owned))
                        }
                        _ => None,
                    })
                    .unwrap_or_default();
                let row =
                    CreateActionRow::Buttons(vec![CreateButton::new(format!("wsc:v1:stop:{instance}"))
                        .label("Stop")
                        .style(ButtonStyle::Danger)]);
                cmd.create_response(
                    &ctx.http,
                    CreateInteractionResponse::Message(
                        CreateInteractionResponseMessage::new()
                            .content(format!(
                                "hello {} ({}) roles={}",
                                cmd.user.name,
                                cmd.locale,
                                cmd.member.as_ref().map_or(0, |m| m.roles.len())
                            ))
                            .components(vec![row]),
                    ),
                )
                .await
            }
            Interaction::Component(click) => {
                click
                    .create_response(
                        &ctx.http,
                        CreateInteractionResponse::UpdateMessage(
                            CreateInteractionResponseMessage::new()
                                .content(format!(
                                    "{} clicked {} on {}",
                                    click.user.name, click.data.custom_id, click.message.id
                                ))
                                .components(vec![]),
                        ),
                    )
                    .await
            }
            Interaction::Autocomplete(ac) => {
                let typed = ac.data.autocomplete().map(|o| o.value.to_owned()).unwrap_or_default();
                ac.create_response(
                    &ctx.http,
                    CreateInteractionResponse::Autocomplete(CreateAutocompleteResponse::new().set_choices(
                        vec![AutocompleteChoice::new(format!("{typed}1"), format!("{typed}1"))],
                    )),
                )
                .await
            }
            _ => Ok(()),
        };
        if let Err(e) = result {
            eprintln!("handler error: {e:?}");
        }
    }
}

struct Bot {
    shard_manager: Arc<ShardManager>,
    task: tokio::task::JoinHandle<()>,
}

impl Bot {
    async fn start(fake: &FakeDiscord) -> Bot {
        let bot = Self::spawn(fake).await;
        assert!(fake.wait_ready(T).await, "serenity never became READY");
        bot
    }

    /// Starts the client without waiting for READY.
    async fn spawn(fake: &FakeDiscord) -> Bot {
        // The project's logging (its caps keep the bot token out), for `scripts/secret-scan`.
        common::init_logging();
        let http = HttpBuilder::new(DISCORD_TOKEN).proxy(fake.api_base()).ratelimiter_disabled(true).build();
        let mut client: Client = ClientBuilder::new_with_http(http, GatewayIntents::empty())
            .event_handler(Handler)
            .await
            .expect("client builds");
        let shard_manager = client.shard_manager.clone();
        let task = tokio::spawn(async move {
            let _ = client.start().await;
        });
        Bot { shard_manager, task }
    }

    async fn stop(self) {
        self.shard_manager.shutdown_all().await;
        self.task.abort();
    }
}

fn alice() -> Member {
    Member::new(111111111111111111, "alice", &[222222222222222222])
}

fn bob() -> Member {
    Member::new(333333333333333333, "bob", &[])
}

fn wsc_stop(instance: &str) -> Value {
    json!({"id": "1", "name": "wsc", "type": 1, "options": [
        {"name": "stop", "type": 1, "options": [
            {"name": "instance_id", "type": 3, "value": instance}
        ]}
    ]})
}

fn callback_of(id: u64) -> impl Fn(&RestCall) -> bool {
    let path = format!("/api/v10/interactions/{id}/token-{id}/callback");
    move |c: &RestCall| c.method == "POST" && c.path == path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_then_button_round_trip() {
    let fake = FakeDiscord::start().await;
    let bot = Bot::start(&fake).await;

    // At start serenity only asks for the gateway URL.
    let start_calls: Vec<String> =
        fake.rest_calls().iter().map(|c| format!("{} {}", c.method, c.path)).collect();
    assert_eq!(start_calls, vec!["GET /api/v10/gateway"]);
    let stats = fake.stats();
    assert_eq!((stats.connections, stats.identifies), (1, 1));
    let identify = &fake.identifies()[0];
    assert_eq!(identify["token"], json!(format!("Bot {DISCORD_TOKEN}")));

    // Slash command → type 4 with a button.
    fake.dispatch(fake::slash_command(1, &alice(), "ko", wsc_stop("123"))).await;
    let call = fake.wait_for_call(callback_of(1), T).await.expect("type 4 callback");
    assert_eq!(call.status, 204);
    assert_eq!(call.body["type"], json!(4));
    assert_eq!(call.body["data"]["content"], json!("hello alice (ko) roles=1"));
    assert_eq!(call.body["data"]["components"][0]["components"][0]["custom_id"], json!("wsc:v1:stop:123"));
    let original = fake.original("token-1").expect("original created");
    assert_eq!(original["content"], json!("hello alice (ko) roles=1"));
    assert_eq!(original["type"], json!(20));
    assert_eq!(original["components"][0]["components"][0]["custom_id"], json!("wsc:v1:stop:123"));
    let message_id: u64 = original["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(fake.message(message_id), Some(original.clone()));

    // Button click by someone else on that message → type 7 updates it in place.
    fake.dispatch(fake::component_click(2, &bob(), "en-US", "wsc:v1:stop:123", original)).await;
    let call = fake.wait_for_call(callback_of(2), T).await.expect("type 7 callback");
    assert_eq!(call.body["type"], json!(7));
    let expected = format!("bob clicked wsc:v1:stop:123 on {message_id}");
    assert_eq!(call.body["data"]["content"], json!(expected));
    let updated = fake.message(message_id).unwrap();
    assert_eq!(updated["content"], json!(expected));
    assert_eq!(updated["components"], json!([]));
    assert!(updated["edited_timestamp"].is_string());
    assert_eq!(fake.original("token-2").unwrap()["id"], updated["id"]);

    // Deferred (ephemeral) → edit original → follow-up: needs the application id from READY.
    fake.dispatch(fake::slash_command(3, &alice(), "en-US", json!({"name": "slow"}))).await;
    let followup = fake
        .wait_for_call(|c| c.method == "POST" && c.path.starts_with("/api/v10/webhooks/"), T)
        .await
        .expect("follow-up");
    let calls: Vec<_> = fake.rest_calls().into_iter().filter(|c| c.path.contains("token-3")).collect();
    assert_eq!(calls.len(), 3, "{calls:#?}");
    // serenity sends {"type":5,"data":{"attachments":[],"flags":64}}.
    assert_eq!(calls[0].body["type"], json!(5));
    assert_eq!(calls[0].body["data"]["flags"], json!(64));
    assert_eq!(calls[1].method, "PATCH");
    assert_eq!(
        calls[1].path,
        format!("/api/v10/webhooks/{}/token-3/messages/@original", fake::APPLICATION_ID)
    );
    assert_eq!(followup.status, 200);
    let original = fake.original("token-3").unwrap();
    assert_eq!(original["content"], json!("done slowly"));
    assert_eq!(original["flags"], json!(64), "ephemeral, no longer loading");
    let followups = fake.followups("token-3");
    assert_eq!(followups.len(), 1);
    assert_eq!(followups[0]["content"], json!("follow-up"));
    assert!(fake.channel_messages(fake::CHANNEL_ID).len() == 1);

    // Autocomplete → type 8.
    fake.dispatch(fake::autocomplete(
        4,
        &alice(),
        "en-US",
        json!({"name": "wsc", "options": [{"name": "stop", "type": 1, "options": [
            {"name": "instance_id", "type": 3, "value": "12", "focused": true}
        ]}]}),
    ))
    .await;
    let call = fake.wait_for_call(callback_of(4), T).await.expect("type 8");
    assert_eq!(call.body, json!({"type": 8, "data": {"choices": [{"name": "121", "value": "121"}]}}));

    bot.stop().await;
    fake.assert_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnect_resumes_and_still_answers() {
    let fake = FakeDiscord::start().await;
    let bot = Bot::start(&fake).await;

    fake.dispatch(fake::slash_command(10, &alice(), "en-US", wsc_stop("1"))).await;
    assert!(fake.wait_for_call(callback_of(10), T).await.is_some());

    fake.request_reconnect();
    assert!(!fake.is_ready());
    assert!(fake.wait_stats(|s| s.resumes == 1, T).await, "no RESUME");
    assert!(fake.wait_ready(T).await);
    let stats = fake.stats();
    assert_eq!((stats.connections, stats.identifies, stats.resumes), (2, 1, 1));

    fake.dispatch(fake::slash_command(11, &bob(), "en-US", wsc_stop("2"))).await;
    let call = fake.wait_for_call(callback_of(11), T).await.expect("answered after resume");
    assert_eq!(call.body["data"]["content"], json!("hello bob (en-US) roles=0"));

    bot.stop().await;
    fake.assert_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abrupt_close_resumes_and_replays_missed_events() {
    let fake = FakeDiscord::start().await;
    let bot = Bot::start(&fake).await;

    fake.close_abruptly();
    // Dispatched while the client is away: replayed on RESUME.
    fake.dispatch(fake::slash_command(20, &alice(), "en-US", wsc_stop("7"))).await;
    assert!(fake.wait_stats(|s| s.resumes == 1, T).await, "no RESUME");
    let call = fake.wait_for_call(callback_of(20), T).await.expect("replayed interaction answered");
    assert_eq!(call.status, 204);
    assert_eq!(fake.stats().identifies, 1);

    bot.stop().await;
    fake.assert_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_rules_and_fault_injection() {
    let fake = FakeDiscord::start().await;
    let bot = Bot::start(&fake).await;
    let http = reqwest::Client::new();
    let base = format!("{}/api/v10", fake.api_base());

    // Unknown routes: 404, recorded.
    let r = http.get(format!("{base}/nope")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"message": "404: Not Found", "code": 0}));
    assert!(fake.rest_calls().iter().any(|c| c.path == "/api/v10/nope"));

    // fail_next: 429 twice, then normal.
    fake.fail_next("get", "/gateway", 429, 2);
    for _ in 0..2 {
        let r = http.get(format!("{base}/gateway")).send().await.unwrap();
        assert_eq!(r.status(), 429);
        assert_eq!(r.headers()["retry-after"], "1");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["retry_after"], json!(0.05));
    }
    let r = http.get(format!("{base}/gateway")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["url"], json!(fake.ws_url()));

    // A failed callback is seen by serenity as an error; the interaction stays unanswered.
    fake.fail_next("POST", "/interactions/30/", 500, 1);
    fake.dispatch(fake::slash_command(30, &alice(), "en-US", wsc_stop("1"))).await;
    let call = fake.wait_for_call(callback_of(30), T).await.unwrap();
    assert_eq!(call.status, 500);
    assert!(!fake.acknowledged(30));
    assert!(fake.original("token-30").is_none());

    // Discord's interaction rules.
    fake.dispatch(fake::slash_command(31, &alice(), "en-US", wsc_stop("1"))).await;
    assert!(fake.wait_for_call(callback_of(31), T).await.is_some());
    let again = http
        .post(format!("{base}/interactions/31/token-31/callback"))
        .json(&json!({"type": 4, "data": {"content": "twice"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 400);
    assert_eq!(again.json::<Value>().await.unwrap()["code"], json!(40060));
    let unknown = http
        .post(format!("{base}/interactions/99/token-99/callback"))
        .json(&json!({"type": 4, "data": {"content": "x"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    assert_eq!(unknown.json::<Value>().await.unwrap()["code"], json!(10062));
    let wrong_app =
        http.post(format!("{base}/webhooks/1/token-31")).json(&json!({"content": "x"})).send().await.unwrap();
    assert_eq!(wrong_app.status(), 404);

    // Late ack: Discord forgets the interaction after 3 s.
    // (The handler ignores modal submits; answer it late by hand.)
    fake.set_ack_deadline(Some(Duration::from_millis(50)));
    fake.dispatch(fake::modal_submit(32, &alice(), "en-US", "wsc:v1:m", json!([]))).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let late = http
        .post(format!("{base}/interactions/32/token-32/callback"))
        .json(&json!({"type": 6}))
        .send()
        .await
        .unwrap();
    assert_eq!(late.status(), 404);
    assert_eq!(late.json::<Value>().await.unwrap()["code"], json!(10062));

    // Bulk overwrite echoes Command objects.
    fake.set_ack_deadline(None);
    let cmds = http
        .put(format!("{base}/applications/{}/guilds/{}/commands", fake::APPLICATION_ID, fake::GUILD_ID))
        .header("authorization", format!("Bot {DISCORD_TOKEN}"))
        .json(&json!([{"name": "wsc", "description": "WSC scans", "options": []}]))
        .send()
        .await
        .unwrap();
    assert_eq!(cmds.status(), 200);
    let cmds: Vec<Value> = cmds.json().await.unwrap();
    assert_eq!(cmds[0]["application_id"], json!(fake::APPLICATION_ID.to_string()));
    assert_eq!(fake.commands(Some(fake::GUILD_ID)), cmds);

    // Channel messages, with the bot token.
    let auth = format!("Bot {DISCORD_TOKEN}");
    let posted: Value = http
        .post(format!("{base}/channels/{}/messages", fake::CHANNEL_ID))
        .header("authorization", &auth)
        .json(&json!({"content": "audit line"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = posted["id"].as_str().unwrap();
    let edited: Value = http
        .patch(format!("{base}/channels/{}/messages/{id}", fake::CHANNEL_ID))
        .header("authorization", &auth)
        .json(&json!({"embeds": [{"title": "t"}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(edited["content"], json!("audit line"));
    assert_eq!(edited["embeds"][0]["title"], json!("t"));
    let empty = http
        .post(format!("{base}/channels/{}/messages", fake::CHANNEL_ID))
        .header("authorization", &auth)
        .json(&json!({"content": ""}))
        .send()
        .await
        .unwrap();
    assert_eq!(empty.status(), 400);

    bot.stop().await;
    // Every rule broken above is in the verdict, and nothing else: not the injected failures.
    let verdict = fake.verdict().await;
    let expected = [
        "GET /api/v10/nope: a route the fake does not know: 404",
        "/interactions/31/token-31/callback: a second answer to one interaction: 400",
        "/interactions/99/token-99/callback: a callback for an interaction Discord never sent: 404",
        "POST /api/v10/webhooks/1/token-31: a webhook of another application: 404",
        "/interactions/32/token-32/callback: the first answer came",
        "POST /api/v10/channels/900000000000000004/messages: outside Discord's spec or limits",
        "interaction 32 was never answered",
    ];
    assert_breaches(&verdict, &expected);
}

/// The rules the verdict adds to Discord's answers: webhooks only after the acknowledgement and
/// within the token's lifetime, the bot token on bot routes, known channels, clicks only on
/// buttons that are there, every interaction answered; and latency injection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_verdict_names_each_broken_rule() {
    let fake = FakeDiscord::start().await;
    let http = reqwest::Client::new();
    let base = format!("{}/api/v10", fake.api_base());
    let auth = format!("Bot {DISCORD_TOKEN}");

    // An edit and a follow-up before the interaction was acknowledged: 10015, as Discord says.
    fake.deliver_inline(&fake::slash_command(70, &alice(), "en-US", wsc_stop("1")));
    fake.answered_inline(70, "token-70", 500, &json!("no answer"));
    let original = format!("{base}/webhooks/{}/token-70/messages/@original", fake::APPLICATION_ID);
    let early = http.patch(&original).json(&json!({"content": "early"})).send().await.unwrap();
    assert_eq!(early.status(), 404);
    assert_eq!(early.json::<Value>().await.unwrap()["code"], json!(10015));
    assert!(fake.original("token-70").is_none(), "nothing was created");

    // Serve mode: a webhook call while the HTTP answer is on its way waits for it.
    fake.deliver_inline(&fake::slash_command(71, &alice(), "en-US", wsc_stop("1")));
    let edit = {
        let (http, url) =
            (http.clone(), format!("{base}/webhooks/{}/token-71/messages/@original", fake::APPLICATION_ID));
        tokio::spawn(async move {
            http.patch(url).json(&json!({"content": "edited"})).send().await.unwrap().status()
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(fake.answered_inline(71, "token-71", 200, &json!({"type": 5})), 204);
    assert_eq!(edit.await.unwrap(), 200, "the edit waited for the answer, then went through");

    // The token's lifetime.
    fake.set_token_lifetime(Duration::from_millis(50));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let expired = http
        .patch(format!("{base}/webhooks/{}/token-71/messages/@original", fake::APPLICATION_ID))
        .json(&json!({"content": "late"}))
        .send()
        .await
        .unwrap();
    assert_eq!(expired.status(), 401);
    assert_eq!(expired.json::<Value>().await.unwrap()["code"], json!(50027));
    fake.set_token_lifetime(fake::TOKEN_LIFETIME);

    // Bot routes need the bot token; channels must be known.
    let channel = format!("{base}/channels/{}/messages", fake::AUDIT_CHANNEL);
    let anonymous = http.post(&channel).json(&json!({"content": "x"})).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let wrong = http
        .post(&channel)
        .header("authorization", "Bot other")
        .json(&json!({"content": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let unknown = http
        .post(format!("{base}/channels/123/messages"))
        .header("authorization", &auth)
        .json(&json!({"content": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    assert_eq!(unknown.json::<Value>().await.unwrap()["code"], json!(10003));
    fake.add_channel(123);
    let known = http
        .post(format!("{base}/channels/123/messages"))
        .header("authorization", &auth)
        .json(&json!({"content": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(known.status(), 200);

    // Latency injection on a REST route.
    fake.delay("POST", &format!("/channels/{}/", fake::AUDIT_CHANNEL), Duration::from_millis(300));
    let started = std::time::Instant::now();
    let slow = http
        .post(&channel)
        .header("authorization", &auth)
        .json(&json!({"content": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(slow.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(300), "{:?}", started.elapsed());
    fake.clear_delays();

    // A click on a button that is not on the message, and one on a message Discord never had.
    let message = fake.insert_message(
        fake::CHANNEL_ID,
        json!({"content": "m", "components": [{"type": 1, "components": [
            {"type": 2, "style": 1, "label": "Go", "custom_id": "wsc:v1:page:2"}
        ]}]}),
    );
    assert_eq!(fake.unreal_click("wsc:v1:page:2", &message), None);
    assert!(fake.unreal_click("wsc:v1:page:3", &message).is_some());
    fake.deliver_inline(&fake::component_click(72, &bob(), "en-US", "wsc:v1:page:3", message));
    fake.deliver_inline(&fake::component_click(73, &bob(), "en-US", "wsc:v1:page:2", json!({"id": "42"})));
    fake.answered_inline(72, "token-72", 200, &json!({"type": 6}));
    fake.answered_inline(73, "token-73", 200, &json!({"type": 6}));

    // An interaction nobody answers.
    fake.set_ack_deadline(Some(Duration::from_millis(100)));
    fake.deliver_inline(&fake::slash_command(74, &alice(), "en-US", wsc_stop("1")));

    let verdict = fake.verdict().await;
    let expected = [
        "the endpoint answered interaction 70 with HTTP 500",
        "PATCH /api/v10/webhooks/900000000000000001/token-70/messages/@original: a webhook call before the interaction was acknowledged: 404",
        "token-71/messages/@original: an interaction token used after its lifetime",
        "POST /api/v10/channels/700000000000000009/messages: without the bot's `Authorization: Bot <token>`: 401",
        "POST /api/v10/channels/700000000000000009/messages: without the bot's `Authorization: Bot <token>`: 401",
        "POST /api/v10/channels/123/messages: a channel the bot cannot see: 404",
        "interaction 72: a click on `wsc:v1:page:3`, which is not on message",
        "interaction 73: a click on `wsc:v1:page:2` on message \"42\", which Discord never had",
        "interaction 70 was never answered",
        "interaction 74 was never answered",
    ];
    assert_breaches(&verdict, &expected);
}

/// serenity's own payloads pass the spec-based validator from `common::discord_spec`, and the
/// fake rejects what the validator rejects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validator_hook() {
    let fake = FakeDiscord::start().await;
    fake.set_validator(common::discord_spec::check_request);
    let bot = Bot::start(&fake).await;

    fake.dispatch(fake::slash_command(40, &alice(), "ko", wsc_stop("5"))).await;
    let call = fake.wait_for_call(callback_of(40), T).await.unwrap();
    assert_eq!(call.status, 204, "{call:#?}");

    let too_long = "x".repeat(2001);
    let r = reqwest::Client::new()
        .post(format!("{}/api/v10/channels/{}/messages", fake.api_base(), fake::CHANNEL_ID))
        .header("authorization", format!("Bot {DISCORD_TOKEN}"))
        .json(&json!({ "content": too_long }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], json!(50035));

    bot.stop().await;
    let verdict = fake.verdict().await;
    assert_eq!(verdict.len(), 1, "{verdict:#?}");
    assert!(verdict[0].contains("length 2001 > 2000") || verdict[0].contains("2001"), "{verdict:#?}");
}

/// Heartbeats are ACKed and the connection stays up. (With `stop_heartbeat_acks(true)` serenity
/// restarts the shard and IDENTIFYs again — measured ~6 s, its shard queue waits 5 s between
/// boots — too slow for this self-test.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_are_acked() {
    let fake = FakeDiscord::start_with(fake::FakeConfig {
        heartbeat_interval: Duration::from_millis(200),
        ..Default::default()
    })
    .await;
    let bot = Bot::start(&fake).await;

    assert!(fake.wait_stats(|s| s.heartbeats >= 2, T).await);
    let stats = fake.stats();
    assert_eq!((stats.connections, stats.identifies), (1, 1));
    assert!(fake.is_ready());

    bot.stop().await;
    fake.assert_clean().await;
}

/// A dispatch before any client is READY waits for the first READY (on a current-thread runtime
/// too); a partial `message` given to `component_click` is completed so serenity does not drop
/// the click.
#[tokio::test]
async fn early_dispatch_waits_for_ready_and_partial_messages_are_completed() {
    let fake = FakeDiscord::start().await;
    let bot = Bot::spawn(&fake).await;
    fake.dispatch(fake::slash_command(60, &alice(), "en-US", wsc_stop("1"))).await;
    assert!(fake.wait_for_call(callback_of(60), T).await.is_some());

    let button =
        json!({"type": 1, "components": [{"type": 2, "style": 1, "label": "X", "custom_id": "wsc:v1:x"}]});
    let stored = fake.insert_message(fake::CHANNEL_ID, json!({"content": "x", "components": [button]}));
    let partial = json!({"id": stored["id"], "components": stored["components"]});
    fake.dispatch(fake::component_click(61, &bob(), "en-US", "wsc:v1:x", partial)).await;
    let call = fake.wait_for_call(callback_of(61), T).await.unwrap();
    let expected = format!("bob clicked wsc:v1:x on {}", stored["id"].as_str().unwrap());
    assert_eq!(call.body["data"]["content"], json!(expected));

    bot.stop().await;
    fake.assert_clean().await;
}

/// A fake that was used must be judged: dropping it without a verdict fails the test.
#[tokio::test]
#[should_panic(expected = "dropped without a verdict")]
async fn a_fake_used_without_its_verdict_fails_the_test() {
    let fake = FakeDiscord::start().await;
    reqwest::get(format!("{}/api/v10/gateway", fake.api_base())).await.unwrap();
}

#[tokio::test]
async fn an_edit_that_overtakes_the_inline_answer_lands_on_top_of_it() {
    let fake = FakeDiscord::start().await;
    let edit =
        format!("{}/api/v10/webhooks/{}/token-40/messages/@original", fake.api_base(), fake::APPLICATION_ID);
    let patch = |content: &'static str| {
        let edit = edit.clone();
        async move {
            let r =
                reqwest::Client::new().patch(edit).json(&json!({"content": content})).send().await.unwrap();
            assert_eq!(r.status(), 200);
        }
    };
    fake.deliver_inline(&fake::slash_command(40, &alice(), "en-US", wsc_stop("1")));
    // The bot's edit reaches Discord before the test has read and recorded its HTTP answer: it
    // is held until the answer lands, as Discord applies that answer on receipt.
    let edited = tokio::spawn(patch("done"));
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(!edited.is_finished(), "the edit waits for the inline answer");
    assert_eq!(fake.answered_inline(40, "token-40", 200, &json!({"type": 5})), 204);
    edited.await.unwrap();
    let original = fake.original("token-40").unwrap();
    assert_eq!(original["content"], "done");
    assert_eq!(original["flags"].as_u64().unwrap_or(0) & (1 << 7), 0, "no longer loading");
    assert_eq!(fake.messages().len(), 1, "one original, not one per edit");
    fake.assert_clean().await;
}

/// The verdict holds exactly these breaches, in order, each containing its text.
fn assert_breaches(verdict: &[String], expected: &[&str]) {
    assert_eq!(verdict.len(), expected.len(), "{verdict:#?}");
    for (breach, expected) in verdict.iter().zip(expected) {
        assert!(breach.contains(expected), "{breach}\nshould contain: {expected}");
    }
}
