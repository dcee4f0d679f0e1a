//! Drives a real serenity 0.12.5 client through the fake Discord in `common::fake_discord`:
//! handshake, slash command → type 4, button → type 7, deferred reply → edit-original and
//! follow-up, autocomplete, op 7 → RESUME, abrupt close → RESUME with replay, REST fault
//! injection.

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
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        let http =
            HttpBuilder::new("fake-bot-token").proxy(fake.api_base()).ratelimiter_disabled(true).build();
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
    assert_eq!(identify["token"], json!("Bot fake-bot-token"));

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
        .header("authorization", "Bot fake-bot-token")
        .json(&json!([{"name": "wsc", "description": "WSC scans", "options": []}]))
        .send()
        .await
        .unwrap();
    assert_eq!(cmds.status(), 200);
    let cmds: Vec<Value> = cmds.json().await.unwrap();
    assert_eq!(cmds[0]["application_id"], json!(fake::APPLICATION_ID.to_string()));
    assert_eq!(fake.commands(Some(fake::GUILD_ID)), cmds);

    // Channel messages.
    let posted: Value = http
        .post(format!("{base}/channels/{}/messages", fake::CHANNEL_ID))
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
        .json(&json!({"content": ""}))
        .send()
        .await
        .unwrap();
    assert_eq!(empty.status(), 400);

    bot.stop().await;
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
        .json(&json!({ "content": too_long }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], json!(50035));

    bot.stop().await;
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

    let partial = json!({"id": "42", "components": []});
    fake.dispatch(fake::component_click(61, &bob(), "en-US", "wsc:v1:x", partial)).await;
    let call = fake.wait_for_call(callback_of(61), T).await.unwrap();
    assert_eq!(call.body["data"]["content"], json!("bob clicked wsc:v1:x on 42"));

    bot.stop().await;
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
    // The bot's edits reach Discord before the test has read and recorded its HTTP answer.
    patch("first").await;
    patch("done").await;
    assert_eq!(fake.answered_inline(40, "token-40", &json!({"type": 5})), 204);
    let original = fake.original("token-40").unwrap();
    assert_eq!(original["content"], "done");
    assert_eq!(original["flags"].as_u64().unwrap_or(0) & (1 << 7), 0, "no longer loading");
    assert_eq!(fake.messages().len(), 1, "one original, not one per edit");
}
