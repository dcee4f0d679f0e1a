//! The bot, started for a test in either front end, with the WSC simulator behind it: a real
//! serenity client on the fake Discord's gateway, or the Interactions Endpoint that the fake
//! Discord's side posts signed interactions to. Tests drive both through the same methods, and
//! end with [`Bot::finish`]: the fake Discord's verdict on every rule of Discord's the bot kept
//! or broke.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{json, Value};
use wsc_bot::config::Config;
use wsc_bot::wsc::sim::{SimHandle, SimSettings};
use wsc_bot::wsc::Operation;

use super::discord_spec::check_request;
use super::fake_discord::{self, component_click, slash_command, FakeDiscord, Member, RestCall, GUILD_ID};
use super::process::BotProcess;
use super::serve::{post, serve_vars, start_serve_with};
use super::{start_sim, ACCESS_KEY, SECRET_KEY};

pub const VIEWER_ROLE: u64 = 700000000000000001;
pub const OPERATOR_ROLE: u64 = 700000000000000002;
pub use super::fake_discord::AUDIT_CHANNEL;
pub const WAIT: Duration = Duration::from_secs(10);

pub const SCHEDULED: u64 = 1000000008;
pub const CRAWLING: u64 = 1000000007;
pub const SCANNING: u64 = 1000000006;

/// How Discord reaches the bot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Front {
    Gateway,
    Serve,
}

pub const FRONTS: [Front; 2] = [Front::Gateway, Front::Serve];

pub struct Bot {
    pub discord: FakeDiscord,
    pub sim: SimHandle,
    pub task: tokio::task::JoinHandle<()>,
    /// Serve mode: the endpoint's base URL.
    pub endpoint: Option<String>,
    /// Serve mode: the signed POSTs under way, joined by [`Bot::finish`] so none of their
    /// failures is lost.
    pub deliveries: std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl Drop for Bot {
    fn drop(&mut self) {
        self.task.abort();
        if !self.discord.verdict_taken() && !std::thread::panicking() {
            panic!("a test bot dropped without its verdict: end the test with `bot.finish().await`");
        }
    }
}

pub fn operator() -> Member {
    Member { user_id: 800000000000000001, username: "oncall".into(), roles: vec![OPERATOR_ROLE] }
}

pub fn viewer() -> Member {
    Member { user_id: 800000000000000002, username: "viewer".into(), roles: vec![VIEWER_ROLE] }
}

pub fn stranger() -> Member {
    Member { user_id: 800000000000000003, username: "stranger".into(), roles: vec![] }
}

pub async fn start_bot(sim_settings: SimSettings, timeout_secs: u64) -> Bot {
    start_bot_with(sim_settings, timeout_secs, &[]).await
}

/// The same, with more configuration variables.
pub async fn start_bot_with(
    sim_settings: SimSettings,
    timeout_secs: u64,
    extra: &[(&'static str, String)],
) -> Bot {
    start_bot_on(FakeDiscord::start().await, sim_settings, timeout_secs, extra).await
}

/// The configuration every test bot shares: the fake Discord, the simulator, the test roles.
pub fn bot_vars(discord: &FakeDiscord, sim: &SimHandle) -> HashMap<&'static str, String> {
    HashMap::from([
        ("DISCORD_TOKEN", super::secrets::DISCORD_TOKEN.to_owned()),
        ("DISCORD_API_BASE", discord.api_base()),
        ("DISCORD_GUILD_ID", GUILD_ID.to_string()),
        ("NCP_ACCESS_KEY", ACCESS_KEY.to_owned()),
        ("NCP_SECRET_KEY", SECRET_KEY.to_owned()),
        ("WSC_API_BASE", sim.base_url()),
        ("WSC_VIEWER_ROLE_IDS", VIEWER_ROLE.to_string()),
        ("WSC_OPERATOR_ROLE_IDS", OPERATOR_ROLE.to_string()),
        ("WSC_AUDIT_CHANNEL_ID", AUDIT_CHANNEL.to_string()),
    ])
}

/// The same, against a fake Discord configured by the caller.
pub async fn start_bot_on(
    discord: FakeDiscord,
    sim_settings: SimSettings,
    timeout_secs: u64,
    extra: &[(&'static str, String)],
) -> Bot {
    start_bot_in(Front::Gateway, discord, sim_settings, timeout_secs, extra).await
}

/// The same, in either front end.
pub async fn start_bot_in(
    front: Front,
    discord: FakeDiscord,
    sim_settings: SimSettings,
    timeout_secs: u64,
    extra: &[(&'static str, String)],
) -> Bot {
    let sim = start_sim(sim_settings).await;
    let vars = test_vars(&discord, &sim, timeout_secs, extra);
    let (task, endpoint) = match front {
        Front::Serve => {
            let (base, task) = start_serve_with(&vars).await;
            (task, Some(base))
        }
        Front::Gateway => {
            let config = Config::from_lookup(|name| vars.get(name).cloned()).unwrap();
            let core = super::core_for(&config).await;
            let task = tokio::spawn(async move {
                if let Err(error) = wsc_bot::discord::gateway::run(&config, core).await {
                    panic!("the bot stopped: {error}");
                }
            });
            assert!(discord.wait_ready(WAIT).await, "the bot connected to the fake gateway");
            (task, None)
        }
    };
    Bot { discord, sim, task, endpoint, deliveries: Default::default() }
}

pub fn test_vars(
    discord: &FakeDiscord,
    sim: &SimHandle,
    timeout_secs: u64,
    extra: &[(&'static str, String)],
) -> HashMap<&'static str, String> {
    let mut vars = serve_vars(discord, sim);
    vars.insert("WSC_REQUEST_TIMEOUT_SECS", timeout_secs.to_string());
    vars.extend(extra.iter().cloned());
    vars
}

/// The same bot as a `wsc-bot run` or `wsc-bot serve` process of its own, driven through the
/// `Bot` as usual. The `Bot`'s task only stands in for the process, which `BotProcess` owns.
pub async fn start_process_in(
    front: Front,
    discord: FakeDiscord,
    sim_settings: SimSettings,
    timeout_secs: u64,
    extra: &[(&'static str, String)],
) -> (Bot, BotProcess) {
    let sim = start_sim(sim_settings).await;
    let mut vars = test_vars(&discord, &sim, timeout_secs, extra);
    let (process, endpoint) = match front {
        Front::Serve => {
            vars.entry("WSC_HTTP_LISTEN").or_insert_with(|| "127.0.0.1:0".into());
            let process = BotProcess::spawn(&["serve"], &vars);
            let url = process.next_url();
            (process, Some(url))
        }
        Front::Gateway => {
            let process = BotProcess::spawn(&["run"], &vars);
            assert!(discord.wait_ready(WAIT).await, "the bot connected to the fake gateway");
            (process, None)
        }
    };
    let task = tokio::spawn(std::future::pending());
    (Bot { discord, sim, task, endpoint, deliveries: Default::default() }, process)
}

impl Bot {
    /// The next interaction id, unique in this test process: the audit events, captured
    /// process-wide, of one test's interactions are told apart by it.
    pub fn id(&self) -> u64 {
        static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    }

    /// Hands `interaction` to the bot: over the gateway, or signed to the endpoint (in the
    /// background, as the gateway does not wait either; the fake Discord judges the HTTP answer).
    pub async fn deliver(&self, interaction: Value) {
        match &self.endpoint {
            None => self.discord.dispatch(interaction).await,
            Some(server) => {
                let (discord, server) = (self.discord.clone(), server.clone());
                let delivery = tokio::spawn(async move {
                    post(&discord, &server, &interaction).await;
                });
                self.deliveries.lock().unwrap().push(delivery);
            }
        }
    }

    /// The end of every test: every delivery done, and the fake Discord's verdict clean (every
    /// interaction answered once, in time, with 204; no webhook call before the answer; every
    /// payload within Discord's spec and limits; tokens, channels and authorisation right).
    pub async fn finish(&self) {
        let deliveries = std::mem::take(&mut *self.deliveries.lock().unwrap());
        for delivery in deliveries {
            delivery.await.expect("a delivery to the endpoint");
        }
        self.discord.assert_clean().await;
    }

    /// The bot is still up: its task has not ended (a panic would have ended it).
    pub fn is_running(&self) -> bool {
        !self.task.is_finished()
    }

    /// Dispatches `/wsc <sub> [options]` and returns its interaction id.
    pub async fn command(&self, member: &Member, sub: &str, options: Value) -> u64 {
        self.command_in("en-US", member, sub, options).await
    }

    /// The same from a member whose Discord is in `locale`, in a guild of that locale.
    pub async fn command_in(&self, locale: &str, member: &Member, sub: &str, options: Value) -> u64 {
        let interaction = self.command_json(locale, locale, member, sub, options);
        self.send(interaction).await
    }

    /// `/wsc <sub> [options]` from a member whose Discord is in `locale`, in a guild whose
    /// language is `guild_locale`, with the next id; not sent.
    pub fn command_json(
        &self,
        locale: &str,
        guild_locale: &str,
        member: &Member,
        sub: &str,
        options: Value,
    ) -> Value {
        let data = json!({"id": "1", "name": "wsc", "type": 1, "options": [{"name": sub, "type": 1, "options": options}]});
        let mut interaction = slash_command(self.id(), member, locale, data);
        interaction["guild_locale"] = json!(guild_locale);
        interaction
    }

    /// A click on `custom_id` of `message`, the same way; not sent.
    pub fn click_json(
        &self,
        locale: &str,
        guild_locale: &str,
        member: &Member,
        custom_id: &str,
        message: Value,
    ) -> Value {
        let mut interaction = component_click(self.id(), member, locale, custom_id, message);
        interaction["guild_locale"] = json!(guild_locale);
        interaction
    }

    /// Autocomplete of `instance_id` in `/wsc <sub>` with `typed` so far; not sent.
    pub fn autocomplete_json(&self, member: &Member, sub: &str, typed: &str) -> Value {
        let option = json!({"name": "instance_id", "type": 3, "value": typed, "focused": true});
        let data = json!({"id": "1", "name": "wsc", "type": 1, "options": [{"name": sub, "type": 1, "options": [option]}]});
        super::fake_discord::autocomplete(self.id(), member, "en-US", data)
    }

    /// Delivers an interaction made by the functions above; returns its id.
    pub async fn send(&self, interaction: Value) -> u64 {
        let id = interaction["id"].as_str().and_then(|id| id.parse().ok()).expect("an interaction id");
        self.deliver(interaction).await;
        id
    }

    /// Autocomplete of `instance_id` in `/wsc <sub>` with `typed` so far; returns the choices.
    pub async fn autocomplete(&self, member: &Member, sub: &str, typed: &str) -> Vec<Value> {
        let id = self.send(self.autocomplete_json(member, sub, typed)).await;
        self.choices(id).await
    }

    /// The choices an autocomplete was answered with.
    pub async fn choices(&self, id: u64) -> Vec<Value> {
        let callback = self.callback(id).await;
        assert_eq!(callback.body["type"], 8, "{:#}", callback.body);
        callback.body["data"]["choices"].as_array().cloned().unwrap_or_default()
    }

    /// A click on the button `custom_id` of `message`, a message the fake Discord holds with that
    /// button on it (Discord sends no other clicks).
    pub async fn click(&self, member: &Member, custom_id: &str, message: Value) -> u64 {
        if let Some(unreal) = self.discord.unreal_click(custom_id, &message) {
            panic!("the test clicks what Discord could not send: {unreal}");
        }
        self.send(self.click_json("en-US", "en-US", member, custom_id, message)).await
    }

    /// A submission of the modal `custom_id` opened from a button on `message`, with `components`
    /// as its action rows of text inputs.
    pub async fn submit_modal(
        &self,
        member: &Member,
        custom_id: &str,
        components: Value,
        message: Value,
    ) -> u64 {
        let mut interaction = fake_discord::modal_submit(self.id(), member, "en-US", custom_id, components);
        interaction["guild_locale"] = json!("en-US");
        interaction["message"] = fake_discord::full_message(message);
        self.send(interaction).await
    }

    pub async fn call(&self, what: &str, pred: impl Fn(&RestCall) -> bool) -> RestCall {
        self.call_within(what, WAIT, pred).await
    }

    pub async fn call_within(
        &self,
        what: &str,
        wait: Duration,
        pred: impl Fn(&RestCall) -> bool,
    ) -> RestCall {
        match self.discord.wait_for_call(pred, wait).await {
            Some(call) => call,
            None => panic!("no {what}; calls: {:#?}", self.discord.rest_calls()),
        }
    }

    pub async fn callback(&self, id: u64) -> RestCall {
        let prefix = format!("/api/v10/interactions/{id}/token-{id}/callback");
        self.call("callback", |c| c.method == "POST" && c.path == prefix).await
    }

    /// The response as it ends up: the @original message once Discord took the bot's edit, or
    /// the message that was the first answer itself (a fresh list).
    pub async fn original(&self, id: u64) -> Value {
        self.original_within(id, WAIT).await
    }

    pub async fn original_within(&self, id: u64, wait: Duration) -> Value {
        match self.discord.final_original(&format!("token-{id}"), wait).await {
            Some(message) => message,
            None => panic!("no answer of interaction {id}; calls: {:#?}", self.discord.rest_calls()),
        }
    }

    pub async fn follow_up(&self, id: u64) -> RestCall {
        let path = format!("/api/v10/webhooks/{}/token-{id}", fake_discord::APPLICATION_ID);
        self.call("follow-up", |c| c.method == "POST" && c.path == path).await
    }

    /// Every payload sent so far obeys Discord's schema and limits.
    pub fn assert_payloads_valid(&self) {
        for call in self.discord.rest_calls() {
            if call.body.is_null() {
                continue;
            }
            let violations = check_request(&call.method, &call.path, &call.body);
            assert!(violations.is_empty(), "{} {}: {violations:#?}\n{:#}", call.method, call.path, call.body);
        }
    }

    /// `/wsc stop <instance>` by the operator, then a tap on the confirmation's button; returns
    /// the confirm's interaction id.
    pub async fn confirm_stop(&self, instance: u64) -> u64 {
        let ask = self.command(&operator(), "stop", instance_arg(instance)).await;
        let confirmation = self.original(ask).await;
        self.click(&operator(), &format!("wsc:v1:confirm-stop:{instance}"), confirmation).await
    }

    /// The audit channel's line for an attempt on `instance` that ended with `outcome`.
    pub async fn audit_line(&self, outcome: &str, instance: u64) -> RestCall {
        match self.discord.audit_line(outcome, instance, WAIT).await {
            Some(call) => call,
            None => panic!(
                "no audit line `**{outcome}** job {instance}`; calls: {:#?}",
                self.discord.rest_calls()
            ),
        }
    }

    /// The bot answers a fresh `/wsc jobs` with the list.
    pub async fn still_serves(&self) {
        let id = self.command(&viewer(), "jobs", json!([])).await;
        let embeds = self.original(id).await["embeds"].as_array().map_or(0, Vec::len);
        assert_eq!(embeds, 5, "the next interaction is served");
        assert!(self.is_running(), "the bot is still up");
    }

    pub fn wsc_actions(&self) -> usize {
        self.sim
            .requests()
            .iter()
            .filter(|r| matches!(r.operation, Some(Operation::Cancel | Operation::Stop)))
            .count()
    }
}

/// The reason modal's one text field, holding `value`.
pub fn reason_field(value: &str) -> Value {
    json!([{"type": 1, "components": [{"type": 4, "custom_id": "reason", "value": value}]}])
}

/// The `instance_id` option of `/wsc stop` and `/wsc cancel`.
pub fn instance_arg(instance: u64) -> Value {
    json!([{"name": "instance_id", "type": 3, "value": instance.to_string()}])
}

pub fn custom_ids(message: &Value) -> Vec<String> {
    message["components"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
        .filter_map(|c| c["custom_id"].as_str().map(str::to_owned))
        .collect()
}

pub fn is_ephemeral(data: &Value) -> bool {
    data["flags"].as_u64().is_some_and(|f| f & 64 != 0)
}

/// Every text in a payload: a forged mention, heading or audit line appears only escaped or
/// inside a code span, where Discord shows it as typed.
pub fn assert_inert(value: &Value) {
    match value {
        Value::String(text) => {
            for forged in ["@everyone", "@here", "<@&1>", "<@1>", "<#1>", "\n# forged", "\n`stop` **done**"] {
                for (at, _) in text.match_indices(forged) {
                    let before = &text[..at];
                    let ticks =
                        before.match_indices('`').filter(|(i, _)| !before[..*i].ends_with('\\')).count();
                    assert!(before.ends_with('\\') || ticks % 2 == 1, "`{forged}` came through: {text}");
                }
            }
        }
        Value::Array(items) => items.iter().for_each(assert_inert),
        Value::Object(fields) => fields.values().for_each(assert_inert),
        _ => {}
    }
}

/// The bot's REST adapter (the `Discord` port) pointed at the fake Discord, for tests that drive
/// the watcher directly.
pub fn rest_port(discord: &FakeDiscord, sim: &SimHandle) -> wsc_bot::discord::rest::Rest {
    let vars = HashMap::from([
        ("DISCORD_TOKEN", super::secrets::DISCORD_TOKEN.to_owned()),
        ("DISCORD_API_BASE", discord.api_base()),
        ("NCP_ACCESS_KEY", ACCESS_KEY.to_owned()),
        ("NCP_SECRET_KEY", SECRET_KEY.to_owned()),
        ("WSC_API_BASE", sim.base_url()),
    ]);
    let config = Config::from_lookup(|name| vars.get(name).cloned()).unwrap();
    let http = wsc_bot::discord::rest::http_client(&config).unwrap();
    wsc_bot::discord::rest::Rest::new(std::sync::Arc::new(http))
}
