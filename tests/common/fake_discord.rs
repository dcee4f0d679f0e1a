//! A fake Discord on 127.0.0.1 for end-to-end tests: the REST API under `/api/v10` (axum) and a
//! websocket gateway (tokio-tungstenite, its own port), enough for a real serenity 0.12.5 client.
//!
//! * Every REST call is recorded ([`FakeDiscord::rest_calls`], [`FakeDiscord::wait_for_call`]),
//!   unknown routes included (they get 404 `{"message":"404: Not Found","code":0}`).
//! * Messages created by interaction callbacks, webhooks (edit-original, follow-ups) and channel
//!   routes are stored as full Message objects ([`FakeDiscord::message`],
//!   [`FakeDiscord::original`], [`FakeDiscord::followups`]); components are kept exactly as sent.
//! * Discord's interaction rules are enforced the way Discord answers them: a callback for an
//!   interaction that was never dispatched, or later than the ack deadline (3 s by default,
//!   [`FakeDiscord::set_ack_deadline`]), gets 404 `Unknown interaction` (10062); a second callback
//!   gets 400 `Interaction has already been acknowledged.` (40060); a callback type not allowed for
//!   the interaction (e.g. 7 on a slash command) gets 400 (50035); an empty new message gets 400
//!   (50006); webhook routes with another application id, an unknown token, or a token whose
//!   interaction was not acknowledged yet get 404 (10015); a token older than 15 minutes gets 401
//!   `Invalid Webhook Token` (50027). Routes other than the interaction callback and webhooks
//!   need `Authorization: Bot <token>` (401 otherwise); channels other than the known ones
//!   ([`CHANNEL_ID`], [`AUDIT_CHANNEL`], [`WATCH_CHANNEL`], [`FakeDiscord::add_channel`]) get 404
//!   `Unknown Channel` (10003).
//! * Every payload is checked against Discord's OpenAPI spec and limits
//!   (`common::discord_spec::check_request`, replaceable with [`FakeDiscord::set_validator`]): a
//!   request with violations gets 400 `Invalid Form Body` (50035) like Discord, the violations in
//!   `errors`.
//! * The verdict: every refusal above (any 4xx the fake answers by its rules, not the failures a
//!   test injects with [`FakeDiscord::fail_next`]) is recorded as a breach, and so are an
//!   interaction never answered, a click on a button that is not on the message it claims to be
//!   on, and in serve mode an HTTP answer other than 200. [`FakeDiscord::assert_clean`] (waiting
//!   for interactions still within their deadline) fails the test with the list; every test must
//!   end with it (dropping a fake that was used without it fails the test).
//! * Latency: [`FakeDiscord::delay`] makes matching REST calls wait before they are handled.
//! * Serve mode ([`FakeDiscord::deliver_inline`], [`FakeDiscord::answered_inline`]): the HTTP answer
//!   is the callback. A webhook call for an interaction whose HTTP request is still open waits for
//!   that answer first, as it would have to reach Discord before the token works.
//! * Gateway: HELLO, READY on IDENTIFY, RESUMED on RESUME (events dispatched while the client was
//!   away are replayed first, as Discord does), heartbeat ACKs, op 7, abrupt closes, close codes,
//!   op 9. `wait_ready` means "the *current* connection got READY or RESUMED";
//!   `request_reconnect`/`close_abruptly`/`invalidate_session` clear it at once.
//!
//! Timing: waits use tokio timers, so do not run these tests with paused time (`start_paused`):
//! tokio would auto-advance the clock while the runtime waits on sockets. The ack deadline uses
//! `std::time::Instant` (real time).
//!
//! serenity notes (0.12.5): it drops a dispatch it cannot deserialize with only a warning, and a
//! re-IDENTIFY after a restart waits up to 5 s (`WAIT_BETWEEN_BOOTS_IN_SECONDS`) since the last
//! boot. RESUME goes to the URL from `GET /gateway` (serenity ignores `resume_gateway_url`).
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Map, Value};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::AbortHandle;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message as WsMessage;

pub const APPLICATION_ID: u64 = 900000000000000001;
pub const BOT_USER_ID: u64 = 900000000000000002;
pub const GUILD_ID: u64 = 900000000000000003;
pub const CHANNEL_ID: u64 = 900000000000000004;
/// A server the bot does not serve that has added it all the same (a public bot can be added by
/// anyone who knows its id).
pub const OTHER_GUILD_ID: u64 = 900000000000000013;
/// A DM channel between a user and the bot.
pub const DM_CHANNEL_ID: u64 = 900000000000000014;
/// The audit and watch channels the test bots post to; known to the fake like [`CHANNEL_ID`].
pub const AUDIT_CHANNEL: u64 = 700000000000000009;
pub const WATCH_CHANNEL: u64 = 700000000000000010;

pub const BOT_USERNAME: &str = "wsc-bot";
pub const SESSION_PREFIX: &str = "fake-session-";
/// Default HELLO heartbeat interval (Discord's usual value).
pub const DEFAULT_HEARTBEAT_INTERVAL: Duration = Duration::from_millis(45_000);
/// Discord's 3-second rule for the first interaction response.
pub const DEFAULT_ACK_DEADLINE: Duration = Duration::from_secs(3);
/// How long an interaction token works for webhooks (edits, follow-ups).
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(15 * 60);
/// `attachment_size_limit` sent with interactions (10 MiB).
pub const ATTACHMENT_SIZE_LIMIT: u64 = 10 * 1024 * 1024;

/// Channel-level permissions of a member in interactions: an ordinary member, no ADMINISTRATOR
/// (view, send, embed, attach, history, reactions, external emojis, use application commands,
/// send in threads).
pub const MEMBER_PERMISSIONS: u64 =
    (1 << 6) | (1 << 10) | (1 << 11) | (1 << 14) | (1 << 15) | (1 << 16) | (1 << 18) | (1 << 31) | (1 << 38);
/// `app_permissions` sent with interactions: the bot's channel permissions.
pub const APP_PERMISSIONS: u64 = MEMBER_PERMISSIONS | (1 << 13);

const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;
/// Message flags.
const EPHEMERAL: u64 = 1 << 6;
const SUPPRESS_EMBEDS: u64 = 1 << 2;
const LOADING: u64 = 1 << 7;
const SUPPRESS_NOTIFICATIONS: u64 = 1 << 12;

// ---------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------

/// One REST request as the fake received it.
#[derive(Clone)]
pub struct RestCall {
    pub method: String,
    /// Path and query as received, e.g. `/api/v10/interactions/1/token-1/callback`.
    pub path: String,
    /// The JSON body (`payload_json` of a multipart body); `Null` if none or not JSON.
    pub body: Value,
    pub at: Instant,
    /// The HTTP status the fake answered.
    pub status: u16,
    /// The `Authorization` header, if any (`Bot <token>` from serenity).
    pub authorization: Option<String>,
}

/// A failing test prints the calls it saw; the bot's token must not be among them (the secret
/// scan reads that output too).
impl std::fmt::Debug for RestCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestCall")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("body", &self.body)
            .field("at", &self.at)
            .field("status", &self.status)
            .field("authorization", &self.authorization.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

/// A guild member who triggers interactions.
#[derive(Clone, Debug)]
pub struct Member {
    pub user_id: u64,
    pub username: String,
    pub roles: Vec<u64>,
}

impl Member {
    pub fn new(user_id: u64, username: &str, roles: &[u64]) -> Member {
        Member { user_id, username: username.to_owned(), roles: roles.to_vec() }
    }
}

/// Gateway counters since start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GatewayStats {
    /// Websocket connections accepted.
    pub connections: u64,
    /// IDENTIFY (op 2) received.
    pub identifies: u64,
    /// RESUME (op 6) received (valid or not).
    pub resumes: u64,
    /// Heartbeats (op 1) received.
    pub heartbeats: u64,
}

/// Settings for [`FakeDiscord::start_with`].
#[derive(Clone, Debug)]
pub struct FakeConfig {
    /// Sent in HELLO.
    pub heartbeat_interval: Duration,
    /// The first callback must arrive within this time after the dispatch; `None` = no limit.
    pub ack_deadline: Option<Duration>,
    /// The bot token accepted in `Authorization: Bot <token>`.
    pub bot_token: String,
    /// Webhook calls with an interaction token older than this are refused.
    pub token_lifetime: Duration,
}

impl Default for FakeConfig {
    fn default() -> Self {
        FakeConfig {
            heartbeat_interval: DEFAULT_HEARTBEAT_INTERVAL,
            ack_deadline: Some(DEFAULT_ACK_DEADLINE),
            bot_token: super::secrets::DISCORD_TOKEN.to_owned(),
            token_lifetime: TOKEN_LIFETIME,
        }
    }
}

/// `(method, path, body) -> violations`; see [`FakeDiscord::set_validator`].
pub type Validator = dyn Fn(&str, &str, &Value) -> Vec<String> + Send + Sync;

// ---------------------------------------------------------------------------------------------
// Internal state
// ---------------------------------------------------------------------------------------------

enum Out {
    Text(String),
    Close(u16),
    Abort,
}

struct Conn {
    id: u64,
    tx: mpsc::UnboundedSender<Out>,
}

struct Session {
    id: String,
    seq: u64,
    /// Every dispatch of this session: (seq, frame, interaction id) — replayed on RESUME.
    sent: Vec<(u64, String, Option<u64>)>,
}

struct Interaction {
    kind: u64,
    token: String,
    channel_id: u64,
    /// The message a component/modal interaction came from.
    message_id: Option<u64>,
    /// When the dispatch went on the wire (None while it waits for a resume).
    delivered_at: Option<Instant>,
    acked: bool,
    /// A test made Discord fail its callback, or killed the replica it was in flight on: not
    /// answering it is then no breach.
    excused: bool,
    /// Serve mode: the HTTP request carrying it has not been answered yet.
    inline_pending: bool,
}

struct FailRule {
    method: String,
    path_contains: String,
    status: u16,
    remaining: usize,
    /// The wait a 429 asks for, in seconds.
    retry_after: f64,
}

struct DelayRule {
    method: String,
    path_contains: String,
    delay: Duration,
}

fn matches_rule(rule_method: &str, path_contains: &str, method: &str, path: &str) -> bool {
    (rule_method.is_empty() || rule_method == "*" || rule_method == method) && path.contains(path_contains)
}

#[derive(Default)]
struct Inner {
    calls: Vec<RestCall>,
    failures: Vec<FailRule>,
    delays: Vec<DelayRule>,
    validator: Option<Arc<Validator>>,
    ack_deadline: Option<Duration>,
    bot_token: String,
    token_lifetime: Duration,
    channels: std::collections::HashSet<u64>,
    /// Members whose DMs are closed: a message to them is refused (403, code 50007).
    closed_dms: std::collections::HashSet<u64>,
    /// Every rule the bot (or a test's input) broke, in order.
    breaches: Vec<String>,
    verdict_taken: bool,
    /// The guild's `preferred_locale`; None answers "en-US".
    guild_locale: Option<String>,

    last_id: u64,
    messages: HashMap<u64, Value>,
    originals: HashMap<String, u64>,
    followups: HashMap<String, Vec<u64>>,
    interactions: HashMap<u64, Interaction>,
    tokens: HashMap<String, u64>,
    /// Commands per scope: None = global, Some(guild).
    commands: HashMap<Option<u64>, Vec<Value>>,

    conn: Option<Conn>,
    next_conn_id: u64,
    ready: bool,
    session: Option<Session>,
    sessions_started: u64,
    acks_stopped: bool,
    stats: GatewayStats,
    identifies: Vec<Value>,

    tasks: Vec<AbortHandle>,
}

struct Shared {
    state: Mutex<Inner>,
    changed: watch::Sender<u64>,
    api_base: String,
    ws_url: String,
    heartbeat_interval_ms: u64,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn bump(&self) {
        self.changed.send_modify(|v| *v += 1);
    }

    /// Waits until `cond` holds (re-checked whenever the state changes) or `timeout` passes.
    async fn wait(&self, mut cond: impl FnMut(&Inner) -> bool, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut rx = self.changed.subscribe();
        loop {
            if cond(&self.lock()) {
                return true;
            }
            if tokio::time::timeout_at(deadline, rx.changed()).await.is_err() {
                return cond(&self.lock());
            }
        }
    }
}

/// The fake Discord. Dropping its last clone stops the REST server, the gateway and every
/// connection.
#[derive(Clone)]
pub struct FakeDiscord {
    shared: Arc<Shared>,
    _servers: Arc<Servers>,
}

struct Servers(Arc<Shared>);

impl Drop for Servers {
    fn drop(&mut self) {
        let (tasks, used, judged) = {
            let mut st = self.0.lock();
            (
                std::mem::take(&mut st.tasks),
                !st.calls.is_empty() || !st.interactions.is_empty(),
                st.verdict_taken,
            )
        };
        for t in tasks {
            t.abort();
        }
        if used && !judged && !std::thread::panicking() {
            panic!("fake Discord dropped without a verdict: end the test with `assert_clean().await`");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

impl FakeDiscord {
    /// Starts REST and gateway on 127.0.0.1 with default settings.
    pub async fn start() -> FakeDiscord {
        Self::start_with(FakeConfig::default()).await
    }

    pub async fn start_with(config: FakeConfig) -> FakeDiscord {
        let rest = TcpListener::bind("127.0.0.1:0").await.expect("bind REST");
        let gw = TcpListener::bind("127.0.0.1:0").await.expect("bind gateway");
        let api_base = format!("http://{}", rest.local_addr().unwrap());
        let ws_url = format!("ws://{}", gw.local_addr().unwrap());
        let (changed, _) = watch::channel(0u64);
        let state = Inner {
            ack_deadline: config.ack_deadline,
            bot_token: config.bot_token,
            token_lifetime: config.token_lifetime,
            channels: [CHANNEL_ID, AUDIT_CHANNEL, WATCH_CHANNEL].into(),
            validator: Some(Arc::new(super::discord_spec::check_request)),
            ..Inner::default()
        };
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            changed,
            api_base,
            ws_url,
            heartbeat_interval_ms: config.heartbeat_interval.as_millis() as u64,
        });

        let app = Router::new().fallback(rest_handler).with_state(shared.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(rest, app).await;
        });
        let sh = shared.clone();
        let accept = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = gw.accept().await else {
                    continue;
                };
                let sh2 = sh.clone();
                let task = tokio::spawn(gateway_connection(sh2, tcp));
                let mut st = sh.lock();
                st.tasks.retain(|t| !t.is_finished());
                st.tasks.push(task.abort_handle());
            }
        });
        {
            let mut st = shared.lock();
            st.tasks.push(server.abort_handle());
            st.tasks.push(accept.abort_handle());
        }
        FakeDiscord { _servers: Arc::new(Servers(shared.clone())), shared }
    }

    /// `http://127.0.0.1:PORT`: give it to `HttpBuilder::proxy` / `DISCORD_API_BASE`.
    pub fn api_base(&self) -> String {
        self.shared.api_base.clone()
    }

    /// `ws://127.0.0.1:PORT`, what `GET /api/v10/gateway` returns.
    pub fn ws_url(&self) -> String {
        self.shared.ws_url.clone()
    }

    /// True once the current connection got READY (after IDENTIFY) or RESUMED (after RESUME).
    pub async fn wait_ready(&self, timeout: Duration) -> bool {
        self.wait_state(|st| st.ready, timeout).await
    }

    pub fn is_ready(&self) -> bool {
        self.shared.lock().ready
    }

    /// Sends `INTERACTION_CREATE` with the next seq. If no client ever became ready, waits up to
    /// 10 s for one (panics otherwise). While the client is away (after `request_reconnect`,
    /// `close_abruptly`…) the event is kept and replayed when the client RESUMEs.
    pub async fn dispatch(&self, interaction: Value) {
        self.dispatch_event("INTERACTION_CREATE", interaction).await;
    }

    /// Sends any dispatch event (op 0) with the next seq.
    pub async fn dispatch_event(&self, event: &str, d: Value) {
        // The guard must not live across the await below.
        let no_session = self.shared.lock().session.is_none();
        if no_session
            && !self.wait_state(|st| st.session.is_some() && st.ready, Duration::from_secs(10)).await
        {
            panic!("fake Discord: dispatch({event}) but no client ever IDENTIFYed");
        }
        let mut st = self.shared.lock();
        let ix_id =
            if event == "INTERACTION_CREATE" { Some(register_interaction(&mut st, &d)) } else { None };
        let session = st.session.as_mut().expect("session");
        session.seq += 1;
        let seq = session.seq;
        let frame = json!({"op": 0, "t": event, "s": seq, "d": d}).to_string();
        session.sent.push((seq, frame.clone(), ix_id));
        if st.ready {
            if let Some(conn) = &st.conn {
                if conn.tx.send(Out::Text(frame)).is_ok() {
                    if let Some(ix) = ix_id.and_then(|id| st.interactions.get_mut(&id)) {
                        ix.delivered_at = Some(Instant::now());
                    }
                }
            }
        }
        drop(st);
        self.shared.bump();
    }

    pub fn rest_calls(&self) -> Vec<RestCall> {
        self.shared.lock().calls.clone()
    }

    pub fn clear_rest_calls(&self) {
        self.shared.lock().calls.clear();
    }

    /// How many recorded calls match `pred`, without copying the log (cheap enough to re-check
    /// in [`FakeDiscord::wait_until`] on every change).
    pub fn count_calls(&self, pred: impl Fn(&RestCall) -> bool) -> usize {
        self.shared.lock().calls.iter().filter(|c| pred(c)).count()
    }

    /// The first recorded call matching `pred` (already recorded, or arriving before `timeout`).
    /// The audit channel's line for an attempt on `instance` that ended with `outcome`: the last
    /// thing the bot does for an action.
    pub async fn audit_line(&self, outcome: &str, instance: u64, timeout: Duration) -> Option<RestCall> {
        let path = format!("/api/v10/channels/{AUDIT_CHANNEL}/messages");
        let line = format!("**{outcome}** job {instance}");
        self.wait_for_call(
            |c| {
                c.path == path
                    && c.status < 300
                    && c.body["content"].as_str().is_some_and(|t| t.contains(&line))
            },
            timeout,
        )
        .await
    }

    /// The response to the interaction with `token` as it ends up: the @original once Discord
    /// took the bot's edit of it, or the message that was itself the first answer (a fresh list).
    pub async fn final_original(&self, token: &str, timeout: Duration) -> Option<Value> {
        let path = format!("/{token}/");
        let given = |c: &RestCall| {
            let edit = c.method == "PATCH" && c.path.ends_with("/messages/@original");
            let message = c.method == "POST" && c.path.ends_with("/callback") && c.body["type"] == 4;
            (edit || message) && c.path.contains(&path) && c.status < 300
        };
        self.wait_for_call(given, timeout).await?;
        self.original(token)
    }

    pub async fn wait_for_call(
        &self,
        pred: impl Fn(&RestCall) -> bool,
        timeout: Duration,
    ) -> Option<RestCall> {
        let mut found = None;
        self.wait_state(
            |st| {
                found = st.calls.iter().find(|c| pred(c)).cloned();
                found.is_some()
            },
            timeout,
        )
        .await;
        found
    }

    /// Waits until `cond(self)` holds (re-checked whenever the fake's state changes).
    pub async fn wait_until(&self, cond: impl Fn(&FakeDiscord) -> bool, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut rx = self.shared.changed.subscribe();
        loop {
            if cond(self) {
                return true;
            }
            if tokio::time::timeout_at(deadline, rx.changed()).await.is_err() {
                return cond(self);
            }
        }
    }

    /// Waits until the gateway counters satisfy `pred`.
    pub async fn wait_stats(&self, pred: impl Fn(&GatewayStats) -> bool, timeout: Duration) -> bool {
        self.wait_state(|st| pred(&st.stats), timeout).await
    }

    /// A stored message object (as the REST API would return it).
    pub fn message(&self, message_id: u64) -> Option<Value> {
        self.shared.lock().messages.get(&message_id).cloned()
    }

    /// All stored messages, oldest first.
    pub fn messages(&self) -> Vec<Value> {
        let st = self.shared.lock();
        let mut ids: Vec<_> = st.messages.keys().copied().collect();
        ids.sort_unstable();
        ids.iter().map(|id| st.messages[id].clone()).collect()
    }

    /// Stored non-ephemeral messages in a channel, oldest first (bot posts, webhook messages).
    pub fn channel_messages(&self, channel_id: u64) -> Vec<Value> {
        self.messages()
            .into_iter()
            .filter(|m| id_of(&m["channel_id"]) == Some(channel_id) && flags_of(m) & EPHEMERAL == 0)
            .collect()
    }

    /// The @original message of an interaction, if created. For component interactions answered
    /// with type 6/7 this is the message the component is on.
    pub fn original(&self, interaction_token: &str) -> Option<Value> {
        let st = self.shared.lock();
        let id = st.originals.get(interaction_token)?;
        st.messages.get(id).cloned()
    }

    /// Follow-up messages of an interaction, oldest first.
    pub fn followups(&self, interaction_token: &str) -> Vec<Value> {
        let st = self.shared.lock();
        st.followups
            .get(interaction_token)
            .map(|ids| ids.iter().filter_map(|id| st.messages.get(id).cloned()).collect())
            .unwrap_or_default()
    }

    /// Whether the interaction got its (first) callback.
    pub fn acknowledged(&self, interaction_id: u64) -> bool {
        self.shared.lock().interactions.get(&interaction_id).is_some_and(|ix| ix.acked)
    }

    /// Registered commands: `None` = global, `Some(guild_id)` = that guild.
    pub fn commands(&self, guild_id: Option<u64>) -> Vec<Value> {
        self.shared.lock().commands.get(&guild_id).cloned().unwrap_or_default()
    }

    /// Stores a message as if the bot had posted it earlier (e.g. a message from before a
    /// restart, to click its buttons). `partial` holds content/embeds/components/flags.
    pub fn insert_message(&self, channel_id: u64, partial: Value) -> Value {
        let mut st = self.shared.lock();
        let id = create_message(&mut st, channel_id, &partial, 0, false);
        let msg = st.messages[&id].clone();
        drop(st);
        self.shared.bump();
        msg
    }

    /// The IDENTIFY payloads (`d`) received, oldest first.
    pub fn identifies(&self) -> Vec<Value> {
        self.shared.lock().identifies.clone()
    }

    /// Sends op 7 (reconnect) to the connected client; it should come back with RESUME.
    pub fn request_reconnect(&self) {
        self.send_control(Out::Text(json!({"op": 7, "d": null}).to_string()));
    }

    /// Drops the websocket without a close frame.
    pub fn close_abruptly(&self) {
        self.send_control(Out::Abort);
    }

    /// Closes the websocket with a close code (4000 = resumable, 4009 = session timed out…).
    pub fn close_with_code(&self, code: u16) {
        self.send_control(Out::Close(code));
    }

    /// Sends op 9 (invalid session). With `resumable` false the session is forgotten, so the
    /// client must IDENTIFY again.
    pub fn invalidate_session(&self, resumable: bool) {
        if !resumable {
            self.shared.lock().session = None;
        }
        self.send_control(Out::Text(json!({"op": 9, "d": resumable}).to_string()));
    }

    /// When true, heartbeats are not ACKed (serenity then restarts the shard and re-IDENTIFYs).
    pub fn stop_heartbeat_acks(&self, stop: bool) {
        self.shared.lock().acks_stopped = stop;
    }

    pub fn stats(&self) -> GatewayStats {
        self.shared.lock().stats
    }

    /// The next `times` REST calls with this method (case-insensitive; "" = any) whose path and
    /// query contain `path_contains` are answered with `status` and a Discord error body.
    /// 429 gets `{"message":"You are being rate limited.","retry_after":0.05,"global":false}`,
    /// `Retry-After: 1` (Discord rounds the header up to whole seconds) and
    /// `X-RateLimit-Reset-After: 0.05`. Failed calls change nothing and are recorded.
    pub fn fail_next(&self, method: &str, path_contains: &str, status: u16, times: usize) {
        self.fail_next_with(method, path_contains, status, times, 0.05);
    }

    /// The same with 429, asking the client to wait `retry_after` (in `retry_after` and, rounded
    /// up to whole seconds, `Retry-After`).
    pub fn rate_limit_next(&self, method: &str, path_contains: &str, retry_after: Duration, times: usize) {
        self.fail_next_with(method, path_contains, 429, times, retry_after.as_secs_f64());
    }

    fn fail_next_with(&self, method: &str, path_contains: &str, status: u16, times: usize, retry_after: f64) {
        if times == 0 {
            return;
        }
        self.shared.lock().failures.push(FailRule {
            method: method.to_ascii_uppercase(),
            path_contains: path_contains.to_owned(),
            status,
            remaining: times,
            retry_after,
        });
    }

    /// Changes the ack deadline (`None` = callbacks are accepted whenever they come).
    pub fn set_ack_deadline(&self, deadline: Option<Duration>) {
        self.shared.lock().ack_deadline = deadline;
    }

    /// Endpoint mode: Discord is about to POST `interaction` to the bot's endpoint. Registers it
    /// as delivered now (a PING is not an interaction to answer); its token works for edits and
    /// follow-ups once [`FakeDiscord::answered_inline`] has taken the HTTP answer.
    pub fn deliver_inline(&self, interaction: &Value) {
        if interaction["type"] == 1 {
            return;
        }
        let mut st = self.shared.lock();
        let id = register_interaction(&mut st, interaction);
        if let Some(ix) = st.interactions.get_mut(&id) {
            ix.delivered_at = Some(Instant::now());
            ix.inline_pending = true;
        }
    }

    /// Endpoint mode: the bot answered the POST with HTTP `http_status` and `response`. A 200 is
    /// the callback, checked and recorded as `POST .../callback` like a gateway-mode callback;
    /// anything else is a breach (Discord shows "This interaction failed"). Returns the
    /// callback's status (0 when there was none).
    pub fn answered_inline(
        &self,
        interaction_id: u64,
        token: &str,
        http_status: u16,
        response: &Value,
    ) -> u16 {
        let status = {
            let mut st = self.shared.lock();
            if let Some(ix) = st.interactions.get_mut(&interaction_id) {
                ix.inline_pending = false;
            }
            if http_status == 200 {
                let path = format!("/api/v10/interactions/{interaction_id}/{token}/callback");
                let reply = validate(&st, "POST", &path, response)
                    .unwrap_or_else(|| callback(&mut st, &interaction_id.to_string(), token, response));
                record_refusal(&mut st, "POST", &path, &reply, response);
                st.calls.push(RestCall {
                    method: "POST".into(),
                    path,
                    body: response.clone(),
                    at: Instant::now(),
                    status: reply.status,
                    authorization: None,
                });
                reply.status
            } else {
                st.breaches.push(format!(
                    "the endpoint answered interaction {interaction_id} with HTTP {http_status}: {response}"
                ));
                0
            }
        };
        self.shared.bump();
        status
    }

    /// Every breach recorded so far (see the module docs), without waiting.
    pub fn breaches(&self) -> Vec<String> {
        self.shared.lock().breaches.clone()
    }

    /// The verdict: waits until every delivered interaction is answered or past its deadline
    /// (and every serve-mode HTTP request answered), then returns every breach, interactions
    /// never answered included. Empty means the bot kept Discord's rules.
    pub async fn verdict(&self) -> Vec<String> {
        let deadline = self.shared.lock().ack_deadline.unwrap_or(DEFAULT_ACK_DEADLINE);
        let settled = |st: &Inner| {
            st.interactions.values().all(|ix| {
                ix.acked
                    || ix.excused
                    || (!ix.inline_pending && ix.delivered_at.is_none_or(|at| at.elapsed() > deadline))
            })
        };
        self.shared.wait(settled, deadline + Duration::from_secs(2)).await;
        let mut st = self.shared.lock();
        st.verdict_taken = true;
        let mut breaches = st.breaches.clone();
        let mut unanswered: Vec<u64> = st
            .interactions
            .iter()
            .filter(|(_, ix)| !ix.acked && !ix.excused && ix.delivered_at.is_some())
            .map(|(id, _)| *id)
            .collect();
        unanswered.sort_unstable();
        breaches.extend(unanswered.iter().map(|id| format!("interaction {id} was never answered")));
        breaches
    }

    /// Fails the test with every breach (see [`FakeDiscord::verdict`]).
    pub async fn assert_clean(&self) {
        let breaches = self.verdict().await;
        assert!(breaches.is_empty(), "the fake Discord's verdict: rules broken:\n{}", breaches.join("\n"));
    }

    /// An interaction that may go unanswered with no breach: it was in flight on a replica the
    /// test killed (`kill -9`), as when a load balancer's backend dies mid-request.
    pub fn excuse(&self, interaction_id: u64) {
        if let Some(ix) = self.shared.lock().interactions.get_mut(&interaction_id) {
            ix.excused = true;
        }
        self.shared.bump();
    }

    /// For runs that measure rather than assert (the benchmark): no verdict is needed on drop.
    pub fn waive_verdict(&self) {
        self.shared.lock().verdict_taken = true;
    }

    /// Whether [`FakeDiscord::verdict`] (or [`FakeDiscord::waive_verdict`]) was called.
    pub fn verdict_taken(&self) -> bool {
        self.shared.lock().verdict_taken
    }

    /// REST calls with this method (case-insensitive; "" = any) whose path and query contain
    /// `path_contains` wait `delay` before they are handled, until [`FakeDiscord::clear_delays`].
    pub fn delay(&self, method: &str, path_contains: &str, delay: Duration) {
        self.shared.lock().delays.push(DelayRule {
            method: method.to_ascii_uppercase(),
            path_contains: path_contains.to_owned(),
            delay,
        });
    }

    pub fn clear_delays(&self) {
        self.shared.lock().delays.clear();
    }

    /// Closes a member's DMs: Discord refuses messages to them with 403, code 50007.
    pub fn close_dms(&self, user_id: u64) {
        self.shared.lock().closed_dms.insert(user_id);
    }

    /// Makes a channel known (posts and reads there are accepted).
    pub fn add_channel(&self, channel_id: u64) {
        self.shared.lock().channels.insert(channel_id);
    }

    /// Changes how long interaction tokens work for webhooks.
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        self.shared.lock().token_lifetime = lifetime;
    }

    /// Sets the guild's `preferred_locale`, as `GET /guilds/{id}` reports it.
    pub fn set_guild_locale(&self, locale: &str) {
        self.shared.lock().guild_locale = Some(locale.to_owned());
    }

    /// Replaces the request validator (by default `common::discord_spec::check_request`): a
    /// request with violations is answered 400
    /// `{"message":"Invalid Form Body","code":50035,"errors":{...}}` without changing anything;
    /// the violations are listed in `errors._errors`.
    pub fn set_validator(
        &self,
        validator: impl Fn(&str, &str, &Value) -> Vec<String> + Send + Sync + 'static,
    ) {
        self.shared.lock().validator = Some(Arc::new(validator));
    }

    fn send_control(&self, out: Out) {
        let mut st = self.shared.lock();
        st.ready = false;
        if let Some(conn) = &st.conn {
            let _ = conn.tx.send(out);
        }
        drop(st);
        self.shared.bump();
    }

    async fn wait_state(&self, cond: impl FnMut(&Inner) -> bool, timeout: Duration) -> bool {
        self.shared.wait(cond, timeout).await
    }
}

// ---------------------------------------------------------------------------------------------
// Interaction payloads
// ---------------------------------------------------------------------------------------------

fn user_json(id: u64, username: &str) -> Value {
    json!({
        "id": id.to_string(),
        "username": username,
        "discriminator": "0",
        "global_name": username,
        "avatar": null,
        "bot": false,
        "public_flags": 0,
    })
}

fn bot_user_json() -> Value {
    json!({
        "id": BOT_USER_ID.to_string(),
        "username": BOT_USERNAME,
        "discriminator": "0000",
        "global_name": null,
        "avatar": null,
        "bot": true,
        "public_flags": 0,
    })
}

/// The `member` object of a guild interaction.
pub fn member_json(member: &Member) -> Value {
    json!({
        "user": user_json(member.user_id, &member.username),
        "nick": null,
        "avatar": null,
        "banner": null,
        "roles": member.roles.iter().map(u64::to_string).collect::<Vec<_>>(),
        "joined_at": "2024-01-01T00:00:00.000000+00:00",
        "premium_since": null,
        "deaf": false,
        "mute": false,
        "flags": 0,
        "pending": false,
        "permissions": MEMBER_PERMISSIONS.to_string(),
        "communication_disabled_until": null,
    })
}

fn interaction_base(id: u64, kind: u64, member: &Member, locale: &str, data: Value) -> Value {
    json!({
        "id": id.to_string(),
        "application_id": APPLICATION_ID.to_string(),
        "type": kind,
        "data": data,
        "guild_id": GUILD_ID.to_string(),
        "channel": {
            "id": CHANNEL_ID.to_string(),
            "type": 0,
            "name": "wsc-ops",
            "guild_id": GUILD_ID.to_string(),
            "parent_id": null,
            "nsfw": false,
            "flags": 0,
            "permissions": MEMBER_PERMISSIONS.to_string(),
        },
        "channel_id": CHANNEL_ID.to_string(),
        "member": member_json(member),
        "token": format!("token-{id}"),
        "version": 1,
        "app_permissions": APP_PERMISSIONS.to_string(),
        "locale": locale,
        "guild_locale": "en-US",
        "entitlements": [],
        "authorizing_integration_owners": {"0": GUILD_ID.to_string()},
        "context": 0,
        "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
    })
}

/// Where an interaction comes from when not from the served guild through its install.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elsewhere {
    /// Another server that installed the bot.
    OtherGuild,
    /// A DM with the bot: no guild, no `member`, `user` instead.
    Dm,
    /// A channel of the served guild, but authorized by the user's own install of the app.
    UserInstall,
}

pub const ELSEWHERE: [Elsewhere; 3] = [Elsewhere::OtherGuild, Elsewhere::Dm, Elsewhere::UserInstall];

/// Moves an interaction built by the functions below (the served guild, its install) to `place`.
pub fn elsewhere(interaction: Value, place: Elsewhere) -> Value {
    match place {
        Elsewhere::OtherGuild => {
            replace_text(interaction, &GUILD_ID.to_string(), &OTHER_GUILD_ID.to_string())
        }
        Elsewhere::UserInstall => {
            let mut ix = interaction;
            let user = ix["member"]["user"]["id"].clone();
            ix["authorizing_integration_owners"] = json!({"1": user});
            ix
        }
        Elsewhere::Dm => {
            let mut ix = interaction;
            let user = ix["member"]["user"].clone();
            let object = ix.as_object_mut().expect("an interaction object");
            for field in ["guild_id", "member", "guild_locale"] {
                object.remove(field);
            }
            object.insert("user".into(), user.clone());
            object.insert("context".into(), json!(1));
            // "0" for the guild install: used in a DM with the bot.
            object.insert("authorizing_integration_owners".into(), json!({"0": "0"}));
            object.insert("channel_id".into(), json!(DM_CHANNEL_ID.to_string()));
            object.insert(
                "channel".into(),
                json!({"id": DM_CHANNEL_ID.to_string(), "type": 1, "recipients": [user], "flags": 0}),
            );
            if let Some(data) = object.get_mut("data").and_then(Value::as_object_mut) {
                data.remove("guild_id");
            }
            if let Some(message) = object.get_mut("message").and_then(Value::as_object_mut) {
                message.remove("guild_id");
                message.insert("channel_id".into(), json!(DM_CHANNEL_ID.to_string()));
            }
            ix
        }
    }
}

/// `value` with every string equal to `from` replaced by `to`.
fn replace_text(value: Value, from: &str, to: &str) -> Value {
    match value {
        Value::String(text) if text == from => Value::String(to.to_owned()),
        Value::Array(items) => Value::Array(items.into_iter().map(|v| replace_text(v, from, to)).collect()),
        Value::Object(fields) => {
            Value::Object(fields.into_iter().map(|(k, v)| (k, replace_text(v, from, to))).collect())
        }
        other => other,
    }
}

fn command_data(mut data: Value) -> Value {
    if let Some(obj) = data.as_object_mut() {
        obj.entry("id").or_insert_with(|| json!("910000000000000001"));
        obj.entry("type").or_insert_with(|| json!(1));
        obj.entry("guild_id").or_insert_with(|| json!(GUILD_ID.to_string()));
    }
    data
}

/// A slash command (type 2). `data` is ApplicationCommandData JSON, e.g.
/// `{"id":"1","name":"wsc","type":1,"options":[{"name":"stop","type":1,"options":[{"name":"instance_id","type":3,"value":"123"}]}]}`
/// (`id`, `type` 1 and `guild_id` are added when missing). Token: `token-{id}`.
pub fn slash_command(id: u64, member: &Member, locale: &str, data: Value) -> Value {
    interaction_base(id, 2, member, locale, command_data(data))
}

/// Completes a (possibly partial) message object with the fields serenity requires, as a bot
/// message in [`CHANNEL_ID`]: fields present in `message` win. serenity silently drops a
/// component interaction whose `message` lacks e.g. `author` or `timestamp`.
pub fn full_message(message: Value) -> Value {
    let mut full = json!({
        "id": "1",
        "channel_id": CHANNEL_ID.to_string(),
        "guild_id": GUILD_ID.to_string(),
        "author": bot_user_json(),
        "content": "",
        "timestamp": "2024-01-01T00:00:00.000000+00:00",
        "edited_timestamp": null,
        "tts": false,
        "mention_everyone": false,
        "mentions": [],
        "mention_roles": [],
        "mention_channels": [],
        "attachments": [],
        "embeds": [],
        "reactions": [],
        "pinned": false,
        "type": 0,
        "flags": 0,
        "components": [],
        "webhook_id": APPLICATION_ID.to_string(),
        "application_id": APPLICATION_ID.to_string(),
    });
    if let (Some(f), Some(m)) = (full.as_object_mut(), message.as_object()) {
        for (k, v) in m {
            f.insert(k.clone(), v.clone());
        }
    }
    full
}

/// A button click (component_type 2) on `message` (a stored message object; a partial one is
/// completed by [`full_message`]).
pub fn component_click(id: u64, member: &Member, locale: &str, custom_id: &str, message: Value) -> Value {
    let mut ix =
        interaction_base(id, 3, member, locale, json!({"custom_id": custom_id, "component_type": 2}));
    ix["message"] = full_message(message);
    ix
}

/// A string-select choice (component_type 3) on `message`.
pub fn select_menu(
    id: u64,
    member: &Member,
    locale: &str,
    custom_id: &str,
    values: &[&str],
    message: Value,
) -> Value {
    let mut ix = interaction_base(
        id,
        3,
        member,
        locale,
        json!({"custom_id": custom_id, "component_type": 3, "values": values}),
    );
    ix["message"] = full_message(message);
    ix
}

/// An autocomplete request (type 4); `data` as for [`slash_command`], the option being typed
/// carrying `"focused": true`.
pub fn autocomplete(id: u64, member: &Member, locale: &str, data: Value) -> Value {
    interaction_base(id, 4, member, locale, command_data(data))
}

/// A modal submit (type 5). `components` are the modal's action rows with text inputs
/// (`[{"type":1,"components":[{"type":4,"custom_id":"reason","value":"..."}]}]`).
pub fn modal_submit(id: u64, member: &Member, locale: &str, custom_id: &str, components: Value) -> Value {
    interaction_base(id, 5, member, locale, json!({"custom_id": custom_id, "components": components}))
}

fn register_interaction(st: &mut Inner, d: &Value) -> u64 {
    let id = id_of(&d["id"]).expect("interaction id");
    if let Some(unreal) = unreal_click(st, d) {
        st.breaches.push(format!("interaction {id}: {unreal}"));
    }
    let token = d["token"].as_str().unwrap_or_default().to_owned();
    st.tokens.insert(token.clone(), id);
    st.interactions.insert(
        id,
        Interaction {
            kind: d["type"].as_u64().unwrap_or(0),
            token,
            channel_id: id_of(&d["channel_id"]).unwrap_or(CHANNEL_ID),
            message_id: id_of(&d["message"]["id"]),
            delivered_at: None,
            acked: false,
            excused: false,
            inline_pending: false,
        },
    );
    id
}

/// Discord only sends a click on a component that is on the message: why this one could not
/// have happened, if it could not.
fn unreal_click(st: &Inner, d: &Value) -> Option<String> {
    if d["type"] != 3 {
        return None;
    }
    let custom_id = d["data"]["custom_id"].as_str().unwrap_or_default();
    let Some(message) = id_of(&d["message"]["id"]).and_then(|id| st.messages.get(&id)) else {
        return Some(format!(
            "a click on `{custom_id}` on message {}, which Discord never had",
            d["message"]["id"]
        ));
    };
    if !message_custom_ids(message).iter().any(|c| c == custom_id) {
        return Some(format!("a click on `{custom_id}`, which is not on message {}", message["id"]));
    }
    None
}

/// The custom ids of a message's components, nested ones included.
pub fn message_custom_ids(message: &Value) -> Vec<String> {
    fn walk(value: &Value, out: &mut Vec<String>) {
        for component in value.as_array().into_iter().flatten() {
            if let Some(id) = component["custom_id"].as_str() {
                out.push(id.to_owned());
            }
            walk(&component["components"], out);
            if let Some(accessory) = component.get("accessory") {
                walk(&Value::Array(vec![accessory.clone()]), out);
            }
        }
    }
    let mut out = Vec::new();
    walk(&message["components"], &mut out);
    out
}

impl FakeDiscord {
    /// Why a click on `custom_id` on `message` could not come from Discord, if it could not: the
    /// message must be one the fake holds, and the button on it.
    pub fn unreal_click(&self, custom_id: &str, message: &Value) -> Option<String> {
        let d = json!({"type": 3, "data": {"custom_id": custom_id}, "message": message});
        unreal_click(&self.shared.lock(), &d)
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn id_of(v: &Value) -> Option<u64> {
    match v {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

fn flags_of(msg: &Value) -> u64 {
    msg["flags"].as_u64().unwrap_or(0)
}

fn now_timestamp() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, false)
}

fn next_id(st: &mut Inner) -> u64 {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(DISCORD_EPOCH_MS);
    let candidate = (ms.saturating_sub(DISCORD_EPOCH_MS)) << 22;
    st.last_id = candidate.max(st.last_id + 1);
    st.last_id
}

// ---------------------------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------------------------

/// `kind`: message type (0 default, 20 chat-input command reply). `webhook`: sent through the
/// interaction webhook (sets `webhook_id` and `application_id`).
fn create_message(st: &mut Inner, channel_id: u64, data: &Value, kind: u64, webhook: bool) -> u64 {
    let id = next_id(st);
    let mut msg = json!({
        "id": id.to_string(),
        "channel_id": channel_id.to_string(),
        "guild_id": GUILD_ID.to_string(),
        "author": bot_user_json(),
        "content": "",
        "timestamp": now_timestamp(),
        "edited_timestamp": null,
        "tts": false,
        "mention_everyone": false,
        "mentions": [],
        "mention_roles": [],
        "mention_channels": [],
        "attachments": [],
        "embeds": [],
        "reactions": [],
        "pinned": false,
        "type": kind,
        "flags": 0,
        "components": [],
    });
    if webhook {
        msg["webhook_id"] = json!(APPLICATION_ID.to_string());
        msg["application_id"] = json!(APPLICATION_ID.to_string());
    }
    let flags = data["flags"].as_u64().unwrap_or(0);
    msg["flags"] = json!(flags & (EPHEMERAL | SUPPRESS_EMBEDS | SUPPRESS_NOTIFICATIONS | LOADING));
    if let Some(tts) = data["tts"].as_bool() {
        msg["tts"] = json!(tts);
    }
    apply_edit(st, &mut msg, data);
    st.messages.insert(id, msg);
    id
}

/// Merges the message fields of a create/edit body into `msg` (present fields replace).
fn apply_edit(st: &mut Inner, msg: &mut Value, data: &Value) {
    let Some(body) = data.as_object() else {
        return;
    };
    if let Some(content) = body.get("content") {
        msg["content"] = json!(content.as_str().unwrap_or_default());
    }
    if let Some(embeds) = body.get("embeds") {
        let mut embeds = embeds.as_array().cloned().unwrap_or_default();
        for e in &mut embeds {
            if let Some(o) = e.as_object_mut() {
                o.entry("type").or_insert_with(|| json!("rich"));
            }
        }
        msg["embeds"] = Value::Array(embeds);
    }
    if let Some(components) = body.get("components") {
        msg["components"] = if components.is_null() { json!([]) } else { components.clone() };
    }
    if let Some(attachments) = body.get("attachments") {
        let old = msg["attachments"].as_array().cloned().unwrap_or_default();
        let mut out = Vec::new();
        for a in attachments.as_array().into_iter().flatten() {
            if let Some(filename) = a["filename"].as_str() {
                let id = next_id(st);
                out.push(json!({
                    "id": id.to_string(),
                    "filename": filename,
                    "size": 0,
                    "url": format!("https://cdn.example.invalid/attachments/{id}/{filename}"),
                    "proxy_url": format!("https://media.example.invalid/attachments/{id}/{filename}"),
                    "content_type": null,
                }));
            } else if let Some(kept) = old.iter().find(|o| id_of(&o["id"]) == id_of(&a["id"])) {
                out.push(kept.clone());
            }
        }
        msg["attachments"] = Value::Array(out);
    }
    if let Some(poll) = body.get("poll") {
        msg["poll"] = poll.clone();
    }
}

/// An edit of an existing message: merge, only SUPPRESS_EMBEDS may change in `flags`, the
/// LOADING flag of a deferred response goes away.
fn edit_message(st: &mut Inner, id: u64, data: &Value) -> Value {
    let mut msg = st.messages.remove(&id).expect("message exists");
    let old_flags = flags_of(&msg);
    apply_edit(st, &mut msg, data);
    let mut flags = old_flags & !LOADING;
    if let Some(f) = data.get("flags").and_then(Value::as_u64) {
        flags = (flags & !SUPPRESS_EMBEDS) | (f & SUPPRESS_EMBEDS);
    }
    msg["flags"] = json!(flags);
    if old_flags & LOADING == 0 {
        msg["edited_timestamp"] = json!(now_timestamp());
    }
    st.messages.insert(id, msg.clone());
    msg
}

fn is_empty_message(body: &Value) -> bool {
    let nonempty_str = |k: &str| body[k].as_str().is_some_and(|s| !s.is_empty());
    let nonempty_arr = |k: &str| body[k].as_array().is_some_and(|a| !a.is_empty());
    !(nonempty_str("content")
        || nonempty_arr("embeds")
        || nonempty_arr("components")
        || nonempty_arr("attachments")
        || nonempty_arr("sticker_ids")
        || body["poll"].is_object())
}

// ---------------------------------------------------------------------------------------------
// REST
// ---------------------------------------------------------------------------------------------

struct Reply {
    status: u16,
    body: Option<Value>,
    headers: Vec<(&'static str, String)>,
    /// For a refusal: which rule, in the verdict's words.
    why: Option<String>,
}

impl Reply {
    fn json(status: u16, body: Value) -> Reply {
        Reply { status, body: Some(body), headers: Vec::new(), why: None }
    }

    fn no_content() -> Reply {
        Reply { status: 204, body: None, headers: Vec::new(), why: None }
    }

    fn because(mut self, why: impl Into<String>) -> Reply {
        self.why = Some(why.into());
        self
    }

    fn unauthorized() -> Reply {
        Reply::error(401, 0, "401: Unauthorized")
    }

    fn unknown_channel() -> Reply {
        Reply::error(404, 10003, "Unknown Channel")
    }

    fn error(status: u16, code: u64, message: &str) -> Reply {
        Reply::json(status, json!({"message": message, "code": code}))
    }

    fn not_found() -> Reply {
        Reply::error(404, 0, "404: Not Found")
    }

    fn method_not_allowed() -> Reply {
        Reply::error(405, 0, "405: Method Not Allowed")
    }

    fn unknown_message() -> Reply {
        Reply::error(404, 10008, "Unknown Message")
    }

    fn unknown_webhook() -> Reply {
        Reply::error(404, 10015, "Unknown Webhook")
    }

    fn invalid_form(errors: Value) -> Reply {
        Reply::json(400, json!({"message": "Invalid Form Body", "code": 50035, "errors": errors}))
    }

    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut resp = match self.body {
            Some(body) => {
                let mut r = (status, body.to_string()).into_response();
                r.headers_mut().insert("content-type", HeaderValue::from_static("application/json"));
                r
            }
            None => status.into_response(),
        };
        for (k, v) in self.headers {
            if let Ok(v) = HeaderValue::from_str(&v) {
                resp.headers_mut().insert(k, v);
            }
        }
        resp
    }
}

fn failure_reply(status: u16, retry_after: f64) -> Reply {
    if status == 429 {
        let mut r = Reply::json(
            429,
            json!({"message": "You are being rate limited.", "retry_after": retry_after, "global": false}),
        );
        r.headers = vec![
            ("retry-after", (retry_after.ceil() as u64).to_string()),
            ("x-ratelimit-limit", "5".to_owned()),
            ("x-ratelimit-remaining", "0".to_owned()),
            ("x-ratelimit-reset-after", retry_after.to_string()),
            ("x-ratelimit-scope", "user".to_owned()),
        ];
        return r;
    }
    let reason = StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("Error");
    Reply::error(status, 0, &format!("{status}: {reason}"))
}

/// The JSON body: plain JSON, or the `payload_json` part of a multipart body.
fn parse_body(content_type: &str, body: &[u8]) -> Value {
    if body.is_empty() {
        return Value::Null;
    }
    if content_type.starts_with("multipart/") {
        let text = String::from_utf8_lossy(body);
        if let Some(pos) = text.find("name=\"payload_json\"") {
            let rest = &text[pos..];
            if let Some(start) = rest.find("\r\n\r\n") {
                let rest = &rest[start + 4..];
                let end = rest.find("\r\n--").unwrap_or(rest.len());
                return serde_json::from_str(&rest[..end]).unwrap_or(Value::Null);
            }
        }
        return Value::Null;
    }
    serde_json::from_slice(body).unwrap_or(Value::Null)
}

async fn rest_handler(
    axum::extract::State(shared): axum::extract::State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path_and_query =
        uri.path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_else(|| uri.path().to_owned());
    let content_type =
        headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let authorization = headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let body = parse_body(&content_type, &body);
    let method = method.as_str().to_ascii_uppercase();

    let delay = {
        let st = shared.lock();
        st.delays
            .iter()
            .filter(|d| matches_rule(&d.method, &d.path_contains, &method, &path_and_query))
            .map(|d| d.delay)
            .max()
    };
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    // Serve mode: a webhook call for an interaction whose HTTP answer is still on its way waits
    // for it, as that answer reaches Discord before the token works.
    if let ["", "api", "v10", "webhooks", _, token, ..] = uri.path().split('/').collect::<Vec<_>>()[..] {
        let pending = |st: &Inner| {
            st.tokens.get(token).and_then(|id| st.interactions.get(id)).is_some_and(|ix| ix.inline_pending)
        };
        shared.wait(|st| !pending(st), DEFAULT_ACK_DEADLINE + Duration::from_secs(1)).await;
    }

    let reply = {
        let mut st = shared.lock();
        let reply = match take_failure(&mut st, &method, &path_and_query) {
            Some(r) => r,
            None => {
                let reply = route(
                    &mut st,
                    &shared,
                    &method,
                    uri.path(),
                    uri.query(),
                    &body,
                    authorization.as_deref(),
                );
                record_refusal(&mut st, &method, &path_and_query, &reply, &body);
                reply
            }
        };
        st.calls.push(RestCall {
            method: method.clone(),
            path: path_and_query,
            body,
            at: Instant::now(),
            status: reply.status,
            authorization,
        });
        reply
    };
    shared.bump();
    reply.into_response()
}

fn take_failure(st: &mut Inner, method: &str, path: &str) -> Option<Reply> {
    // A member whose DMs are closed: Discord's own refusal, no fault of the bot's.
    let closed = st
        .closed_dms
        .iter()
        .any(|user| path == format!("/api/v10/channels/{}/messages", dm_channel_of(*user)));
    if method == "POST" && closed {
        return Some(Reply::error(403, 50007, "Cannot send messages to this user"));
    }
    let idx = st.failures.iter().position(|f| matches_rule(&f.method, &f.path_contains, method, path))?;
    let rule = &mut st.failures[idx];
    rule.remaining -= 1;
    let (status, retry_after) = (rule.status, rule.retry_after);
    if rule.remaining == 0 {
        st.failures.remove(idx);
    }
    // A callback Discord failed on purpose: the interaction may go unanswered.
    if let ["", "api", "v10", "interactions", id, _, "callback"] = path.split('/').collect::<Vec<_>>()[..] {
        if let Some(ix) = id.parse().ok().and_then(|id: u64| st.interactions.get_mut(&id)) {
            ix.excused = true;
        }
    }
    Some(failure_reply(status, retry_after))
}

/// A refusal by the fake's rules is a breach of them.
fn record_refusal(st: &mut Inner, method: &str, path: &str, reply: &Reply, body: &Value) {
    if reply.status >= 400 {
        let answer = reply.body.as_ref().map_or_else(String::new, Value::to_string);
        let why = reply.why.as_deref().unwrap_or("refused");
        st.breaches.push(format!("{method} {path}: {why}: {} {answer}; body {body}", reply.status));
    }
}

/// The validator's verdict on a body: `Some(400 Invalid Form Body)` when it breaks a rule.
fn validate(st: &Inner, method: &str, path: &str, body: &Value) -> Option<Reply> {
    let validator = st.validator.clone()?;
    if !matches!(method, "POST" | "PATCH" | "PUT") {
        return None;
    }
    let violations = validator(method, path, body);
    if violations.is_empty() {
        return None;
    }
    let reply = Reply::invalid_form(json!({"_errors": violations
        .iter()
        .map(|v| json!({"code": "FAKE_DISCORD_VALIDATION", "message": v}))
        .collect::<Vec<_>>()}));
    Some(reply.because(format!("outside Discord's spec or limits ({})", violations.join("; "))))
}

/// The DM channel the fake Discord opens with a member.
pub fn dm_channel_of(user_id: u64) -> u64 {
    910_000_000_000_000_000 + user_id % 1_000_000_000_000
}

fn route(
    st: &mut Inner,
    shared: &Shared,
    method: &str,
    path: &str,
    query: Option<&str>,
    body: &Value,
    authorization: Option<&str>,
) -> Reply {
    let Some(rest) = path.strip_prefix("/api/v10") else {
        return Reply::not_found().because("not a Discord API route");
    };
    let segs: Vec<&str> = rest.trim_matches('/').split('/').collect();

    // The bot's own routes need the bot token; the interaction callback and webhooks are
    // authorised by the interaction's token, the bare gateway URL by nothing.
    let bot_route = matches!(
        segs.as_slice(),
        ["applications", ..] | ["channels", ..] | ["guilds", ..] | ["users", ..] | ["gateway", "bot"]
    );
    if bot_route && authorization != Some(format!("Bot {}", st.bot_token).as_str()) {
        return Reply::unauthorized().because("without the bot's `Authorization: Bot <token>`");
    }
    if let ["channels", channel, ..] = segs.as_slice() {
        if !channel.parse().is_ok_and(|c: u64| st.channels.contains(&c)) {
            return Reply::unknown_channel().because("a channel the bot cannot see");
        }
    }
    if let Some(refused) = validate(st, method, path, body) {
        return refused;
    }

    match segs.as_slice() {
        ["gateway"] => match method {
            "GET" => Reply::json(200, json!({"url": shared.ws_url})),
            _ => Reply::method_not_allowed(),
        },
        ["gateway", "bot"] => match method {
            "GET" => Reply::json(
                200,
                json!({
                    "url": shared.ws_url,
                    "shards": 1,
                    "session_start_limit": {
                        "total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1
                    }
                }),
            ),
            _ => Reply::method_not_allowed(),
        },
        ["users", "@me", "channels"] => {
            match (method, body["recipient_id"].as_str().map(str::parse::<u64>)) {
                ("POST", Some(Ok(user))) => {
                    let channel = dm_channel_of(user);
                    st.channels.insert(channel);
                    Reply::json(
                        200,
                        json!({"id": channel.to_string(), "type": 1, "flags": 0, "last_message_id": null,
                           "recipients": [{"id": user.to_string(), "username": "member", "discriminator": "0",
                                           "global_name": null, "avatar": null}]}),
                    )
                }
                ("POST", _) => Reply::error(400, 50035, "Invalid Form Body"),
                _ => Reply::method_not_allowed(),
            }
        }
        ["users", "@me"] => match method {
            "GET" => Reply::json(200, {
                let mut u = bot_user_json();
                u["verified"] = json!(true);
                u["mfa_enabled"] = json!(false);
                u["flags"] = json!(0);
                u
            }),
            _ => Reply::method_not_allowed(),
        },
        ["applications", app, "commands"] => commands_route(st, method, app, None, None, body),
        ["applications", app, "commands", cmd] => commands_route(st, method, app, None, Some(cmd), body),
        ["applications", app, "guilds", guild, "commands"] => match guild.parse() {
            Ok(g) => commands_route(st, method, app, Some(g), None, body),
            Err(_) => Reply::not_found(),
        },
        ["applications", app, "guilds", guild, "commands", cmd] => match guild.parse() {
            Ok(g) => commands_route(st, method, app, Some(g), Some(cmd), body),
            Err(_) => Reply::not_found(),
        },
        ["interactions", id, token, "callback"] => match method {
            "POST" => callback(st, id, token, body),
            _ => Reply::method_not_allowed(),
        },
        ["webhooks", app, token] => {
            if let Some(refused) = webhook_refusal(st, app, token) {
                return refused;
            }
            match method {
                "POST" => followup(st, token, body),
                _ => Reply::method_not_allowed(),
            }
        }
        ["webhooks", app, token, "messages", which] => {
            if let Some(refused) = webhook_refusal(st, app, token) {
                return refused;
            }
            webhook_message(st, method, token, which, body)
        }
        ["channels", channel] => match (method, channel.parse::<u64>()) {
            ("GET", Ok(channel)) => Reply::json(
                200,
                json!({"id": channel.to_string(), "type": 0, "guild_id": GUILD_ID.to_string(), "name": "ops"}),
            ),
            _ => Reply::not_found(),
        },
        ["guilds", guild] => match (method, guild.parse::<u64>()) {
            ("GET", Ok(GUILD_ID)) => {
                let locale = st.guild_locale.clone().unwrap_or_else(|| "en-US".to_owned());
                Reply::json(
                    200,
                    json!({"id": GUILD_ID.to_string(), "name": "Security", "preferred_locale": locale}),
                )
            }
            _ => Reply::not_found(),
        },
        ["channels", channel, "messages"] => {
            let Ok(channel) = channel.parse::<u64>() else {
                return Reply::not_found();
            };
            match method {
                "POST" => {
                    if is_empty_message(body) {
                        return Reply::error(400, 50006, "Cannot send an empty message");
                    }
                    let mut data = body.clone();
                    // Channel messages cannot be ephemeral.
                    if let Some(f) = data["flags"].as_u64() {
                        data["flags"] = json!(f & !(EPHEMERAL | LOADING));
                    }
                    let id = create_message(st, channel, &data, 0, false);
                    Reply::json(200, st.messages[&id].clone())
                }
                "GET" => {
                    let limit = query
                        .and_then(|q| {
                            q.split('&')
                                .find_map(|kv| kv.strip_prefix("limit="))
                                .and_then(|v| v.parse::<usize>().ok())
                        })
                        .unwrap_or(50);
                    let mut msgs: Vec<_> = st
                        .messages
                        .values()
                        .filter(|m| id_of(&m["channel_id"]) == Some(channel) && flags_of(m) & EPHEMERAL == 0)
                        .cloned()
                        .collect();
                    msgs.sort_by_key(|m| std::cmp::Reverse(id_of(&m["id"])));
                    msgs.truncate(limit);
                    Reply::json(200, Value::Array(msgs))
                }
                _ => Reply::method_not_allowed(),
            }
        }
        ["channels", channel, "messages", id] => {
            let (Ok(channel), Ok(id)) = (channel.parse::<u64>(), id.parse::<u64>()) else {
                return Reply::not_found();
            };
            let visible = st
                .messages
                .get(&id)
                .is_some_and(|m| id_of(&m["channel_id"]) == Some(channel) && flags_of(m) & EPHEMERAL == 0);
            if !visible {
                return Reply::unknown_message();
            }
            match method {
                "GET" => Reply::json(200, st.messages[&id].clone()),
                "PATCH" => Reply::json(200, edit_message(st, id, body)),
                "DELETE" => {
                    st.messages.remove(&id);
                    Reply::no_content()
                }
                _ => Reply::method_not_allowed(),
            }
        }
        _ => Reply::not_found().because("a route the fake does not know"),
    }
}

fn commands_route(
    st: &mut Inner,
    method: &str,
    app: &str,
    guild: Option<u64>,
    cmd: Option<&str>,
    body: &Value,
) -> Reply {
    if *app != APPLICATION_ID.to_string() {
        return Reply::error(403, 50001, "Missing Access");
    }
    let scope = st.commands.get(&guild).cloned().unwrap_or_default();
    match (method, cmd) {
        ("GET", None) => Reply::json(200, Value::Array(scope)),
        ("PUT", None) => {
            let Some(list) = body.as_array() else {
                return Reply::invalid_form(
                    json!({"_errors": [{"code": "BASE_TYPE_ARRAY", "message": "Must be an array."}]}),
                );
            };
            let out: Vec<Value> = list.iter().map(|c| command_object(st, c, guild, &scope)).collect();
            st.commands.insert(guild, out.clone());
            Reply::json(200, Value::Array(out))
        }
        ("POST", None) => {
            let c = command_object(st, body, guild, &scope);
            let mut list = scope;
            let existed = list.iter().position(|o| o["name"] == c["name"]);
            match existed {
                Some(i) => list[i] = c.clone(),
                None => list.push(c.clone()),
            }
            st.commands.insert(guild, list);
            Reply::json(if existed.is_some() { 200 } else { 201 }, c)
        }
        (_, Some(cmd)) => {
            let Some(i) = scope.iter().position(|o| o["id"] == json!(cmd)) else {
                return Reply::error(404, 10063, "Unknown application command");
            };
            let mut list = scope;
            match method {
                "GET" => Reply::json(200, list[i].clone()),
                "DELETE" => {
                    list.remove(i);
                    st.commands.insert(guild, list);
                    Reply::no_content()
                }
                "PATCH" => {
                    if let (Some(o), Some(b)) = (list[i].as_object_mut(), body.as_object()) {
                        for (k, v) in b {
                            o.insert(k.clone(), v.clone());
                        }
                    }
                    let v = next_id(st);
                    list[i]["version"] = json!(v.to_string());
                    let c = list[i].clone();
                    st.commands.insert(guild, list);
                    Reply::json(200, c)
                }
                _ => Reply::method_not_allowed(),
            }
        }
        _ => Reply::method_not_allowed(),
    }
}

/// A Command object for a registration body: ids kept for an existing name/type, defaults added.
fn command_object(st: &mut Inner, body: &Value, guild: Option<u64>, existing: &[Value]) -> Value {
    let mut c: Map<String, Value> = body.as_object().cloned().unwrap_or_default();
    let kind = c.get("type").and_then(Value::as_u64).unwrap_or(1);
    let id = existing
        .iter()
        .find(|o| o["name"] == c["name"] && o["type"].as_u64() == Some(kind))
        .and_then(|o| o["id"].as_str().map(str::to_owned))
        .unwrap_or_else(|| next_id(st).to_string());
    let version = next_id(st).to_string();
    c.insert("id".into(), json!(id));
    c.insert("type".into(), json!(kind));
    c.insert("application_id".into(), json!(APPLICATION_ID.to_string()));
    c.insert("version".into(), json!(version));
    if let Some(g) = guild {
        c.insert("guild_id".into(), json!(g.to_string()));
    }
    c.entry("description").or_insert_with(|| json!(""));
    c.entry("default_member_permissions").or_insert(Value::Null);
    c.entry("nsfw").or_insert_with(|| json!(false));
    c.entry("options").or_insert_with(|| json!([]));
    if guild.is_none() {
        c.entry("integration_types").or_insert_with(|| json!([0]));
        c.entry("contexts").or_insert(Value::Null);
    }
    Value::Object(c)
}

fn callback(st: &mut Inner, id: &str, token: &str, body: &Value) -> Reply {
    let unknown = || Reply::error(404, 10062, "Unknown interaction");
    let Ok(id) = id.parse::<u64>() else {
        return unknown().because("a callback for an interaction id that is not a number");
    };
    let deadline = st.ack_deadline;
    let Some(ix) = st.interactions.get(&id) else {
        return unknown().because("a callback for an interaction Discord never sent");
    };
    if ix.token != token {
        return unknown().because("a callback with another interaction's token");
    }
    if let (Some(limit), Some(at)) = (deadline, ix.delivered_at) {
        if !ix.acked && at.elapsed() > limit {
            let late = at.elapsed();
            return unknown()
                .because(format!("the first answer came {late:?} after delivery, past {limit:?}"));
        }
    }
    if ix.acked {
        return Reply::error(400, 40060, "Interaction has already been acknowledged.")
            .because("a second answer to one interaction");
    }
    let kind = ix.kind;
    let channel_id = ix.channel_id;
    let component_message = ix.message_id;
    let token = ix.token.clone();
    let rtype = body["type"].as_u64().unwrap_or(0);
    let allowed: &[u64] = match kind {
        2 => &[4, 5, 9],
        3 => &[4, 5, 6, 7, 9],
        4 => &[8],
        5 => &[4, 5, 6, 7],
        _ => &[],
    };
    if !allowed.contains(&rtype) {
        return Reply::invalid_form(json!({"type": {"_errors": [{
            "code": "INTERACTION_RESPONSE_TYPE_INVALID",
            "message": format!("Interaction response type {rtype} is not valid for interaction type {kind}"),
        }]}}))
        .because(format!("response type {rtype} to an interaction of type {kind}"));
    }
    let data = body.get("data").cloned().unwrap_or(Value::Null);
    match rtype {
        4 => {
            if is_empty_message(&data) {
                return Reply::error(400, 50006, "Cannot send an empty message").because("an empty message");
            }
            let mkind = if kind == 2 { 20 } else { 0 };
            let mut d = data.clone();
            if let Some(f) = d["flags"].as_u64() {
                d["flags"] = json!(f & !LOADING);
            }
            let mid = create_message(st, channel_id, &d, mkind, true);
            st.originals.insert(token, mid);
        }
        5 => {
            let flags = data["flags"].as_u64().unwrap_or(0) & EPHEMERAL;
            let mkind = if kind == 2 { 20 } else { 0 };
            let mid = create_message(st, channel_id, &json!({"flags": flags | LOADING}), mkind, true);
            st.originals.insert(token, mid);
        }
        6 | 7 => {
            if let Some(mid) = component_message {
                if rtype == 7 && st.messages.contains_key(&mid) {
                    edit_message(st, mid, &data);
                }
                st.originals.insert(token, mid);
            }
        }
        _ => {}
    }
    if let Some(ix) = st.interactions.get_mut(&id) {
        ix.acked = true;
    }
    Reply::no_content()
}

/// A webhook call's token: `None` when it works, else Discord's refusal.
fn webhook_refusal(st: &Inner, app: &str, token: &str) -> Option<Reply> {
    if *app != APPLICATION_ID.to_string() {
        return Some(Reply::unknown_webhook().because("a webhook of another application"));
    }
    let Some(ix) = st.tokens.get(token).and_then(|id| st.interactions.get(id)) else {
        return Some(Reply::unknown_webhook().because("an interaction token Discord never sent"));
    };
    if !ix.acked {
        return Some(
            Reply::unknown_webhook().because("a webhook call before the interaction was acknowledged"),
        );
    }
    if ix.delivered_at.is_some_and(|at| at.elapsed() > st.token_lifetime) {
        let lifetime = st.token_lifetime;
        return Some(
            Reply::error(401, 50027, "Invalid Webhook Token")
                .because(format!("an interaction token used after its lifetime of {lifetime:?}")),
        );
    }
    None
}

fn followup(st: &mut Inner, token: &str, body: &Value) -> Reply {
    if is_empty_message(body) {
        return Reply::error(400, 50006, "Cannot send an empty message");
    }
    let channel_id =
        st.tokens.get(token).and_then(|id| st.interactions.get(id)).map_or(CHANNEL_ID, |ix| ix.channel_id);
    let mut data = body.clone();
    if let Some(f) = data["flags"].as_u64() {
        data["flags"] = json!(f & !LOADING);
    }
    let mid = create_message(st, channel_id, &data, 0, true);
    st.followups.entry(token.to_owned()).or_default().push(mid);
    Reply::json(200, st.messages[&mid].clone())
}

fn webhook_message(st: &mut Inner, method: &str, token: &str, which: &str, body: &Value) -> Reply {
    let target = if which == "@original" {
        st.originals.get(token).copied()
    } else {
        which.parse::<u64>().ok().filter(|id| {
            st.originals.get(token) == Some(id) || st.followups.get(token).is_some_and(|f| f.contains(id))
        })
    };
    let target = target.filter(|id| st.messages.contains_key(id));
    match (method, target) {
        ("GET", Some(id)) => Reply::json(200, st.messages[&id].clone()),
        ("PATCH", Some(id)) => Reply::json(200, edit_message(st, id, body)),
        ("PATCH", None) if which == "@original" => {
            // Editing the original before any callback: Discord creates it.
            let (channel_id, kind) = st
                .tokens
                .get(token)
                .and_then(|id| st.interactions.get(id))
                .map_or((CHANNEL_ID, 2), |ix| (ix.channel_id, ix.kind));
            let mut data = body.clone();
            if let Some(f) = data["flags"].as_u64() {
                data["flags"] = json!(f & !LOADING);
            }
            let mid = create_message(st, channel_id, &data, if kind == 2 { 20 } else { 0 }, true);
            st.originals.insert(token.to_owned(), mid);
            Reply::json(200, st.messages[&mid].clone())
        }
        ("DELETE", Some(id)) => {
            st.messages.remove(&id);
            Reply::no_content()
        }
        ("GET" | "PATCH" | "DELETE", None) => Reply::unknown_message(),
        _ => Reply::method_not_allowed(),
    }
}

// ---------------------------------------------------------------------------------------------
// Gateway
// ---------------------------------------------------------------------------------------------

async fn gateway_connection(shared: Arc<Shared>, tcp: TcpStream) {
    let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
        return;
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let conn_id = {
        let mut st = shared.lock();
        st.next_conn_id += 1;
        let id = st.next_conn_id;
        st.stats.connections += 1;
        // Replaces (and so closes) the previous connection.
        st.conn = Some(Conn { id, tx });
        st.ready = false;
        id
    };
    shared.bump();

    let hello = json!({
        "op": 10, "s": null, "t": null,
        "d": {"heartbeat_interval": shared.heartbeat_interval_ms}
    });
    let mut alive = ws.send(WsMessage::Text(hello.to_string())).await.is_ok();
    while alive {
        tokio::select! {
            incoming = ws.next() => match incoming {
                Some(Ok(WsMessage::Text(text))) => {
                    for frame in handle_op(&shared, conn_id, &text) {
                        if ws.send(WsMessage::Text(frame)).await.is_err() {
                            alive = false;
                            break;
                        }
                    }
                }
                Some(Ok(WsMessage::Binary(bytes))) => {
                    let text = String::from_utf8_lossy(&bytes).into_owned();
                    for frame in handle_op(&shared, conn_id, &text) {
                        if ws.send(WsMessage::Text(frame)).await.is_err() {
                            alive = false;
                            break;
                        }
                    }
                }
                Some(Ok(WsMessage::Close(_))) => {
                    // Sends the queued close reply (the closing handshake the client waits for).
                    let _ = ws.flush().await;
                    alive = false;
                }
                Some(Err(_)) | None => alive = false,
                Some(Ok(_)) => {}
            },
            out = rx.recv() => match out {
                Some(Out::Text(frame)) => {
                    alive = ws.send(WsMessage::Text(frame)).await.is_ok();
                }
                Some(Out::Close(code)) => {
                    let _ = ws
                        .close(Some(CloseFrame {
                            code: CloseCode::from(code),
                            reason: "".into(),
                        }))
                        .await;
                    // Let the client read the close frame, then hang up.
                    let _ = tokio::time::timeout(Duration::from_secs(1), async {
                        while let Some(Ok(_)) = ws.next().await {}
                    })
                    .await;
                    alive = false;
                }
                // Abort: drop the socket without a close frame. None: replaced by a newer one.
                Some(Out::Abort) | None => alive = false,
            },
        }
    }
    drop(ws);
    {
        let mut st = shared.lock();
        if st.conn.as_ref().is_some_and(|c| c.id == conn_id) {
            st.conn = None;
            st.ready = false;
        }
    }
    shared.bump();
}

/// Handles one client frame; returns the frames to send back, in order.
fn handle_op(shared: &Shared, conn_id: u64, text: &str) -> Vec<String> {
    let Ok(frame) = serde_json::from_str::<Value>(text) else {
        return Vec::new();
    };
    let d = frame.get("d").cloned().unwrap_or(Value::Null);
    let mut st = shared.lock();
    let current = st.conn.as_ref().is_some_and(|c| c.id == conn_id);
    let out = match frame["op"].as_u64() {
        Some(1) => {
            st.stats.heartbeats += 1;
            if st.acks_stopped {
                Vec::new()
            } else {
                vec![json!({"op": 11, "d": null}).to_string()]
            }
        }
        Some(2) => {
            st.stats.identifies += 1;
            st.identifies.push(d);
            st.sessions_started += 1;
            let session_id = format!("{SESSION_PREFIX}{}", st.sessions_started);
            let ready = json!({
                "op": 0, "t": "READY", "s": 1,
                "d": {
                    "v": 10,
                    "user": {
                        "id": BOT_USER_ID.to_string(),
                        "username": BOT_USERNAME,
                        "discriminator": "0000",
                        "global_name": null,
                        "avatar": null,
                        "bot": true,
                        "verified": true,
                        "mfa_enabled": false,
                        "flags": 0,
                        "email": null,
                    },
                    "guilds": [{"id": GUILD_ID.to_string(), "unavailable": true}],
                    "session_id": session_id,
                    "resume_gateway_url": shared.ws_url,
                    "shard": [0, 1],
                    "application": {"id": APPLICATION_ID.to_string(), "flags": 0},
                    "private_channels": [],
                    "relationships": [],
                    "presences": [],
                    "guild_join_requests": [],
                    "user_settings": {},
                    "geo_ordered_rtc_regions": ["seoul"],
                },
            })
            .to_string();
            st.session = Some(Session { id: session_id, seq: 1, sent: Vec::new() });
            if current {
                st.ready = true;
            }
            vec![ready]
        }
        Some(6) => {
            st.stats.resumes += 1;
            let wanted = d["session_id"].as_str().unwrap_or_default().to_owned();
            let client_seq = d["seq"].as_u64().unwrap_or(0);
            let now = Instant::now();
            let mut replayed = Vec::new();
            let mut out = Vec::new();
            match st.session.as_mut() {
                Some(session) if session.id == wanted => {
                    for (seq, frame, ix) in &session.sent {
                        if *seq > client_seq {
                            out.push(frame.clone());
                            replayed.extend(*ix);
                        }
                    }
                    session.seq += 1;
                    out.push(json!({"op": 0, "t": "RESUMED", "s": session.seq, "d": {}}).to_string());
                    if current {
                        st.ready = true;
                    }
                }
                _ => out.push(json!({"op": 9, "d": false}).to_string()),
            }
            for id in replayed {
                if let Some(ix) = st.interactions.get_mut(&id) {
                    ix.delivered_at = Some(now);
                }
            }
            out
        }
        _ => Vec::new(),
    };
    drop(st);
    shared.bump();
    out
}
