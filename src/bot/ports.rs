//! What the core needs from the world, and the errors it can act on: the `Discord` port (the
//! REST adapter implements it for both front ends) and the `Store` port (what must outlive an
//! interaction: claims, interactions already received, the watcher's memory, the audit trail).

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use serenity::all::{
    CreateInteractionResponse, CreateInteractionResponseFollowup, CreateMessage, EditInteractionResponse,
    EditMessage, Message,
};

use super::audit::AuditEvent;
use super::watch::Stage;

pub trait Discord: Sync {
    fn respond(
        &self,
        interaction_id: u64,
        token: &str,
        response: CreateInteractionResponse,
    ) -> impl Future<Output = Result<(), DiscordError>> + Send;
    fn edit_original(
        &self,
        token: &str,
        edit: EditInteractionResponse,
    ) -> impl Future<Output = Result<(), DiscordError>> + Send;
    fn follow_up(
        &self,
        token: &str,
        message: CreateInteractionResponseFollowup,
    ) -> impl Future<Output = Result<(), DiscordError>> + Send;
    fn get_message(
        &self,
        channel_id: u64,
        message_id: u64,
    ) -> impl Future<Output = Result<Message, DiscordError>> + Send;
    fn edit_message(
        &self,
        channel_id: u64,
        message_id: u64,
        edit: EditMessage,
    ) -> impl Future<Output = Result<(), DiscordError>> + Send;
    /// Posts a message; returns its id.
    fn send_message(
        &self,
        channel_id: u64,
        message: CreateMessage,
    ) -> impl Future<Output = Result<u64, DiscordError>> + Send;
    /// Sends a direct message to a member; returns its id. Fails when their DMs are closed.
    fn send_dm(
        &self,
        user_id: u64,
        message: CreateMessage,
    ) -> impl Future<Output = Result<u64, DiscordError>> + Send;
    /// The preferred locale of the guild a channel belongs to.
    fn channel_locale(&self, channel_id: u64) -> impl Future<Output = Result<String, DiscordError>> + Send;
}

/// Discord refusing a call, or no answer at all.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct DiscordError {
    /// The HTTP status; `None` when no answer came (connection refused, timeout).
    pub status: Option<u16>,
    /// Discord's JSON error code: 10062 unknown interaction, 40060 already acknowledged, …
    pub code: Option<i64>,
    /// How long Discord asked to wait before trying again (429).
    pub retry_after: Option<Duration>,
    pub message: String,
}

/// The longest wait for a 429 the core accepts: an interaction token lives 15 minutes, and a
/// person is waiting.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(10);

impl DiscordError {
    /// A failure with no answer from Discord.
    pub fn unanswered(message: impl Into<String>) -> Self {
        Self { status: None, code: None, retry_after: None, message: message.into() }
    }

    /// The one rule for what is tried again: a 429 after the wait Discord asked for, a 5xx or a
    /// lost answer after `attempt` seconds; any other refusal (400, 403, 404…) is final.
    pub fn retry_in(&self, attempt: u32) -> Option<Duration> {
        match self.status {
            Some(429) => Some(self.retry_after.unwrap_or(Duration::from_secs(1)).min(MAX_RETRY_AFTER)),
            Some(status) if status >= 500 => Some(Duration::from_secs(attempt.into())),
            None => Some(Duration::from_secs(attempt.into())),
            Some(_) => None,
        }
    }
}

/// Calls `call` until it succeeds, Discord's refusal is final, or `tries` calls were made.
pub async fn with_retries<T, F, Fut>(what: &str, tries: u32, mut call: F) -> Result<T, DiscordError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, DiscordError>>,
{
    let mut attempt = 1;
    loop {
        let error = match call().await {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        let wait = error.retry_in(attempt).filter(|_| attempt < tries);
        tracing::warn!(
            status = error.status,
            code = error.code,
            attempt,
            tries,
            retry_in_ms = wait.map(|w| w.as_millis() as u64),
            %error,
            "Discord refused {what}"
        );
        let Some(wait) = wait else { return Err(error) };
        tokio::time::sleep(wait).await;
        attempt += 1;
    }
}

/// What the store holds of one job the watcher follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatchedJob {
    /// The stage last announced (or seen, for a job never announced).
    pub stage: Stage,
    /// The job's message in the watch channel, once there is one.
    pub message_id: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the store failed: {0}")]
pub struct StoreError(pub String);

/// One event of the audit trail as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditRecord {
    /// When it was written, in milliseconds since the Unix epoch.
    pub at_ms: i64,
    pub correlation: String,
    pub interaction: u64,
    pub actor_id: u64,
    pub actor_name: String,
    pub matched_role: Option<u64>,
    pub action: String,
    pub instance: u64,
    pub target_url: Option<String>,
    pub outcome: String,
    pub wsc_code: Option<String>,
    pub request_id: Option<String>,
    pub latency_ms: u64,
    pub reason: Option<String>,
}

/// Which audit events to read: newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Only events written at or after this time (milliseconds since the Unix epoch).
    pub since_ms: i64,
    pub instance: Option<u64>,
    /// Only events of this member's asking.
    pub actor: Option<u64>,
    /// Newest events skipped first (paging).
    pub offset: u32,
    pub limit: u32,
}

/// What `check` tells of the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreStatus {
    /// `memory`, `sqlite` or `postgres`.
    pub engine: &'static str,
    /// The newest migration applied; 0 for memory.
    pub schema_version: i64,
    /// Replicas holding an unexpired lease (the watcher's, or a presence lease).
    pub live_leases: Vec<(String, String)>,
}

/// State that outlives an interaction. Every method may fail (a database that is down); the core
/// decides what a failure means, and never lets one block a stop.
#[async_trait::async_trait]
pub trait Store: Send + Sync {
    /// Takes `instance` for one cancel or stop, for `holder`, until released or `ttl` has passed
    /// (so a crash never blocks a job for ever); `false` when someone else holds it.
    async fn claim(&self, instance: u64, holder: &str, ttl: Duration) -> Result<bool, StoreError>;
    /// Gives back a claim `holder` made; another holder's claim is left alone.
    async fn release(&self, instance: u64, holder: &str) -> Result<(), StoreError>;
    /// `true` the first time interaction `id` arrives; `false` for a repeat within 15 minutes
    /// (an interaction token's lifetime).
    async fn first_delivery(&self, id: u64) -> Result<bool, StoreError>;
    /// What the watcher of `channel` knows of each job; `None` before its first poll (the
    /// baseline is taken once in the life of the store, not at every start).
    async fn watched(&self, channel: u64) -> Result<Option<HashMap<u64, WatchedJob>>, StoreError>;
    /// Records the watcher's poll of `channel`: the jobs whose stage or message changed. The
    /// first call, even with nothing in it, is the baseline.
    async fn save_watched(&self, channel: u64, changed: &[(u64, WatchedJob)]) -> Result<(), StoreError>;
    /// Appends one event to the audit trail.
    async fn append_audit(&self, event: &AuditEvent) -> Result<(), StoreError>;
    /// The audit trail, newest first.
    async fn audit_trail(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError>;
    /// `attempted` events written before `before_ms` that no other event of the same
    /// correlation followed: cancels and stops whose outcome was never written. Oldest first.
    async fn unsettled_attempts(&self, before_ms: i64) -> Result<Vec<AuditRecord>, StoreError>;
    /// Takes or renews the lease `name` for `holder` until `ttl` from now; `false` while another
    /// holder's lease has not expired.
    async fn lease(&self, name: &str, holder: &str, ttl: Duration) -> Result<bool, StoreError>;
    /// Forgets what has expired: claims, leases, interaction ids past 15 minutes, audit events
    /// older than `audit_retention`.
    async fn housekeep(&self, audit_retention: Duration) -> Result<(), StoreError>;
    /// `true` for the first caller to register the commands of `version`, `false` once someone
    /// has; `forget_registration` undoes it when the registration failed.
    async fn first_registration(&self, version: &str) -> Result<bool, StoreError>;
    async fn forget_registration(&self, version: &str) -> Result<(), StoreError>;
    /// Keeps a request awaiting confirmation (`payload`, of `kind`) under `id` until `ttl` from
    /// now, readable by any replica.
    async fn put_pending(&self, id: &str, kind: &str, payload: &str, ttl: Duration)
        -> Result<(), StoreError>;
    /// Takes request `id` of `kind`: its payload to the first caller only, and `None` once it was
    /// taken, when it expired, or when there is none (two confirms at once: one gets it).
    async fn take_pending(&self, id: &str, kind: &str) -> Result<Option<String>, StoreError>;
    async fn status(&self) -> Result<StoreStatus, StoreError>;
}

/// Milliseconds since the Unix epoch: the store's clock, shared by replicas.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(status: Option<u16>, retry_after: Option<Duration>) -> DiscordError {
        DiscordError { status, code: None, retry_after, message: String::new() }
    }

    #[test]
    fn what_is_tried_again_and_after_how_long() {
        let second = Duration::from_secs(1);
        let cases = [
            (refused(Some(429), Some(Duration::from_millis(250))), Some(Duration::from_millis(250))),
            (refused(Some(429), None), Some(second)),
            (refused(Some(429), Some(Duration::from_secs(600))), Some(MAX_RETRY_AFTER)),
            (refused(Some(500), None), Some(second)),
            (refused(Some(503), None), Some(second)),
            (refused(None, None), Some(second)),
            (refused(Some(400), None), None),
            (refused(Some(403), None), None),
            (refused(Some(404), None), None),
        ];
        for (error, wait) in cases {
            assert_eq!(error.retry_in(1), wait, "{error:?}");
        }
        assert_eq!(refused(Some(502), None).retry_in(2), Some(2 * second), "a longer wait each time");
    }

    #[tokio::test(start_paused = true)]
    async fn a_final_refusal_is_not_tried_again_and_a_429_waits_what_discord_asked() {
        let calls = std::sync::atomic::AtomicU32::new(0);
        let result: Result<(), _> = with_retries("a test call", 3, || async {
            calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Err(refused(Some(403), None))
        })
        .await;
        assert_eq!((result.unwrap_err().status, calls.into_inner()), (Some(403), 1));

        let started = tokio::time::Instant::now();
        let calls = std::sync::atomic::AtomicU32::new(0);
        let result = with_retries("a test call", 3, || async {
            match calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) {
                0 => Err(refused(Some(429), Some(Duration::from_millis(1500)))),
                _ => Ok(7),
            }
        })
        .await;
        assert_eq!(result, Ok(7));
        assert_eq!(started.elapsed(), Duration::from_millis(1500));
    }
}
