//! The Discord-agnostic core: an interaction's data in, replies out through a `Discord` port
//! that the front ends (gateway, endpoint) implement. It does no I/O of its own besides the
//! WSC client it is given, and uses serenity's plain data types only.

pub mod action;
pub mod audit;
mod cache;
pub mod commands;
mod flows;
pub mod i18n;
pub mod policy;
pub mod ports;
pub mod targets;
pub mod text;
pub mod view;
pub mod watch;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serenity::all::{
    ActionRowComponent, AuthorizingIntegrationOwner, AuthorizingIntegrationOwners, ButtonKind, GuildId,
    Interaction, InteractionContext, Member, Message, MessageFlags, User,
};

use crate::metrics::Metrics;
use crate::store::SeenInteractions;
use crate::wsc::WscClient;
use action::{parse_autocomplete, parse_command, ButtonId, CommandRequest, JobFilter, Wanted};
use audit::{AuditEvent, Outcome};
use cache::JobCache;
use i18n::Lang;
use policy::Roles;
pub use ports::{Discord, DiscordError, Store};
use view::Reply;

/// The person behind an interaction in a guild.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub id: u64,
    /// Their unique username, for the audit trail.
    pub name: String,
    pub roles: Vec<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Command(CommandRequest),
    Button {
        custom_id: String,
        /// The public message the button is on; `None` when it is ephemeral (it cannot be refreshed).
        origin: Option<u64>,
        /// The page and filter that message shows, read from its Refresh button.
        shown: Option<(u32, JobFilter)>,
        /// The reason a confirmation shows (given with the command), read back from it.
        reason: Option<String>,
    },
    /// A modal's submission: its custom id and its text fields (custom id, value).
    Modal {
        custom_id: String,
        fields: Vec<(String, Option<String>)>,
    },
    /// `None` when it is for nothing the bot completes.
    Autocomplete(Option<(Wanted, String)>),
}

impl Kind {
    /// `command`, `button`, `modal` or `autocomplete`, for the metrics and the audit trail.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Command(_) => "command",
            Self::Button { .. } => "button",
            Self::Modal { .. } => "modal",
            Self::Autocomplete(_) => "autocomplete",
        }
    }
}

/// An interaction's token: it can post as the bot for 15 minutes, so `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token([redacted])")
    }
}

/// An interaction reduced to what the core needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    pub id: u64,
    pub token: Token,
    pub channel_id: u64,
    /// `None` in a DM.
    pub guild_id: Option<u64>,
    /// Used in a guild channel through the bot's install in that guild (`context` 0, the guild
    /// among `authorizing_integration_owners`); `false` in a DM or through a user install.
    pub guild_installed: bool,
    /// Who sent it, in a guild or not (for the audit trail of refusals).
    pub user_id: u64,
    pub locale: String,
    /// The guild's language, for what the whole channel sees.
    pub guild_locale: Option<String>,
    /// `None` outside a guild.
    pub actor: Option<Actor>,
    pub kind: Kind,
}

/// The parts of an interaction every kind has, borrowed.
struct Common<'a> {
    guild_id: Option<GuildId>,
    context: Option<InteractionContext>,
    /// `None` for a modal submission, whose owners serenity does not keep.
    owners: Option<&'a AuthorizingIntegrationOwners>,
    user: &'a User,
    member: Option<&'a Member>,
}

impl Incoming {
    /// `None` for kinds the bot does not handle (PING is answered by the endpoint itself).
    pub fn from_interaction(interaction: &Interaction) -> Option<Self> {
        let (id, token, channel_id, locale, guild_locale, common, kind) = match interaction {
            Interaction::Command(c) => (
                c.id,
                &c.token,
                c.channel_id,
                &c.locale,
                &c.guild_locale,
                Common {
                    guild_id: c.guild_id,
                    context: c.context,
                    owners: Some(&c.authorizing_integration_owners),
                    user: &c.user,
                    member: c.member.as_deref(),
                },
                Kind::Command(parse_command(&c.data)),
            ),
            Interaction::Component(c) => {
                let ephemeral = c.message.flags.is_some_and(|f| f.contains(MessageFlags::EPHEMERAL));
                let kind = Kind::Button {
                    custom_id: c.data.custom_id.clone(),
                    origin: (!ephemeral).then_some(c.message.id.get()),
                    shown: shown_view(&c.message),
                    reason: view::reason_shown(&c.message),
                };
                let common = Common {
                    guild_id: c.guild_id,
                    context: c.context,
                    owners: Some(&c.authorizing_integration_owners),
                    user: &c.user,
                    member: c.member.as_ref(),
                };
                (c.id, &c.token, c.channel_id, &c.locale, &c.guild_locale, common, kind)
            }
            Interaction::Modal(m) => {
                let fields = m
                    .data
                    .components
                    .iter()
                    .flat_map(|row| &row.components)
                    .map(|component| match component {
                        ActionRowComponent::InputText(input) => {
                            (input.custom_id.clone(), input.value.clone())
                        }
                        // Anything else in a submission is no field of the bot's modal.
                        _ => (String::new(), None),
                    })
                    .collect();
                let kind = Kind::Modal { custom_id: m.data.custom_id.clone(), fields };
                // serenity 0.12.5 keeps no `context` or install owners of a modal submission. The
                // bot opens its modals only in answer to an interaction it served, from a member
                // in a served guild; the guild and member checks still apply.
                let common = Common {
                    guild_id: m.guild_id,
                    context: Some(InteractionContext::Guild),
                    owners: None,
                    user: &m.user,
                    member: m.member.as_ref(),
                };
                (m.id, &m.token, m.channel_id, &m.locale, &m.guild_locale, common, kind)
            }
            Interaction::Autocomplete(a) => {
                let kind = Kind::Autocomplete(parse_autocomplete(&a.data));
                let common = Common {
                    guild_id: a.guild_id,
                    context: a.context,
                    owners: Some(&a.authorizing_integration_owners),
                    user: &a.user,
                    member: a.member.as_deref(),
                };
                (a.id, &a.token, a.channel_id, &a.locale, &a.guild_locale, common, kind)
            }
            _ => return None,
        };
        Some(Self {
            id: id.get(),
            token: Token::new(token.as_str()),
            channel_id: channel_id.get(),
            guild_id: common.guild_id.map(GuildId::get),
            guild_installed: common.guild_installed(),
            user_id: common.member.map_or(common.user.id, |m| m.user.id).get(),
            locale: locale.clone(),
            guild_locale: guild_locale.clone(),
            actor: common.member.map(actor),
            kind,
        })
    }

    /// The language of replies to this person.
    pub fn lang(&self) -> Lang {
        Lang::from_locale(&self.locale)
    }

    /// The language of what the whole channel sees.
    pub fn team_lang(&self) -> Lang {
        self.guild_locale.as_deref().map_or(self.lang(), Lang::from_locale)
    }
}

impl Common<'_> {
    fn guild_installed(&self) -> bool {
        let Some(guild) = self.guild_id else { return false };
        // Payloads from before user installs carry no `context`; the install owner says enough.
        let in_guild = matches!(self.context, None | Some(InteractionContext::Guild));
        let installed_here = self.owners.is_none_or(|owners| {
            owners.0.iter().any(
                |owner| matches!(owner, AuthorizingIntegrationOwner::GuildInstall(Some(g)) if *g == guild),
            )
        });
        in_guild && installed_here
    }
}

fn actor(member: &Member) -> Actor {
    Actor {
        id: member.user.id.get(),
        name: member.user.name.clone(),
        roles: member.roles.iter().map(|r| r.get()).collect(),
    }
}

/// The page and filter a jobs message shows, from the custom id of its Refresh button.
pub fn shown_view(message: &Message) -> Option<(u32, JobFilter)> {
    message.components.iter().flat_map(|row| &row.components).find_map(|component| match component {
        ActionRowComponent::Button(button) => match &button.data {
            ButtonKind::NonLink { custom_id, .. } => match ButtonId::parse(custom_id) {
                Ok(ButtonId::Refresh { page, filter }) => Some((page, filter)),
                _ => None,
            },
            _ => None,
        },
        _ => None,
    })
}

pub struct Core {
    wsc: WscClient,
    cache: JobCache,
    roles: Roles,
    /// The guilds served; an interaction from anywhere else is refused before anything happens.
    guilds: Vec<u64>,
    audit_channel: Option<u64>,
    store: Arc<dyn Store>,
    metrics: Arc<Metrics>,
    /// Every embed says WSC is simulated.
    demo: bool,
    claim_ttl: Duration,
    list_fresh_for: Duration,
    /// The hosts `/wsc scan` and Rescan may target; empty: scanning from chat is off.
    scan_targets: targets::ScanTargets,
    /// Jobs with a cancel or stop under way in this process: the guard that holds when the
    /// store cannot be reached.
    in_flight: Mutex<HashSet<u64>>,
    /// Interactions this process received.
    seen: SeenInteractions,
    /// Audit events the store did not take (it was down), oldest first: written once it is back.
    unsaved: Mutex<std::collections::VecDeque<AuditEvent>>,
}

/// Who started a job from chat, kept in the store under the job's number (as a pending request of
/// this kind) until the watcher tells them it finished or failed; taken once, so one DM.
pub(crate) const SCAN_STARTER: &str = "scan-starter";
/// How long a scan's starter is remembered: far beyond any scan's run.
pub(crate) const SCAN_STARTER_TTL: Duration = Duration::from_secs(30 * 86_400);

/// Audit events kept for a store that is down; the log has every one in any case.
const UNSAVED_KEPT: usize = 10_000;

/// The settings of a core besides its ports.
#[derive(Debug, Clone)]
pub struct CoreSettings {
    pub roles: Roles,
    pub guilds: Vec<u64>,
    pub audit_channel: Option<u64>,
    pub demo: bool,
    /// How long a cancel or stop claims its job: longer than any confirm takes (its three WSC
    /// calls), so it is never taken over while one runs, and a process that dies holding one
    /// does not block the job for ever. An attempt this old with no outcome is settled.
    pub claim_ttl: Duration,
    /// How old a listed first page of jobs may be and still answer `/wsc jobs` at once: one watch
    /// interval with a watch channel, a minute without.
    pub list_fresh_for: Duration,
    pub scan_targets: targets::ScanTargets,
}

/// `claim_ttl` with WSC's default timeout of 10 seconds.
const CLAIM_TTL: Duration = Duration::from_secs(40);
/// `list_fresh_for` without a watch channel.
const LIST_FRESH_FOR: Duration = Duration::from_secs(60);

impl Default for CoreSettings {
    fn default() -> Self {
        Self {
            roles: Roles::default(),
            guilds: Vec::new(),
            audit_channel: None,
            demo: false,
            claim_ttl: CLAIM_TTL,
            list_fresh_for: LIST_FRESH_FOR,
            scan_targets: targets::ScanTargets::default(),
        }
    }
}

impl CoreSettings {
    pub fn from_config(config: &crate::config::Config) -> Self {
        Self {
            roles: Roles {
                viewers: config.viewer_role_ids.clone(),
                operators: config.operator_role_ids.clone(),
            },
            guilds: config.discord_guild_ids.clone(),
            audit_channel: config.audit_channel_id,
            demo: false,
            claim_ttl: config.request_timeout * 4,
            list_fresh_for: if config.watch_channel_id.is_some() {
                config.watch_interval
            } else {
                LIST_FRESH_FOR
            },
            scan_targets: config.scan_targets.clone(),
        }
    }
}

/// A claim on a job for one cancel or stop; given back with `Core::release`.
pub(crate) struct Claim {
    instance: u64,
    holder: String,
    /// Whether the store holds it too (not when it could not be reached).
    in_store: bool,
}

impl Core {
    /// The core with the roles, guilds and audit channel of `config`.
    pub fn from_config(
        wsc: WscClient,
        config: &crate::config::Config,
        store: Arc<dyn Store>,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self::new(wsc, CoreSettings::from_config(config), store, metrics)
    }

    pub fn new(wsc: WscClient, settings: CoreSettings, store: Arc<dyn Store>, metrics: Arc<Metrics>) -> Self {
        Self {
            cache: JobCache::new(wsc.clone()),
            wsc,
            roles: settings.roles,
            guilds: settings.guilds,
            audit_channel: settings.audit_channel,
            store,
            metrics,
            demo: settings.demo,
            claim_ttl: settings.claim_ttl,
            list_fresh_for: settings.list_fresh_for,
            scan_targets: settings.scan_targets,
            in_flight: Mutex::new(HashSet::new()),
            seen: SeenInteractions::default(),
            unsaved: Mutex::new(std::collections::VecDeque::new()),
        }
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Whether `incoming` is from one of the served guilds, through the bot's install there.
    pub fn serves(&self, incoming: &Incoming) -> bool {
        incoming.guild_installed && incoming.guild_id.is_some_and(|guild| self.guilds.contains(&guild))
    }

    /// The scan-state watcher for `channel_id`, sharing this core's WSC client, store and metrics;
    /// it warns `warn_before` a scheduled scan starts (zero: never).
    pub fn watcher(&self, channel_id: u64, interval: Duration, warn_before: Duration) -> watch::Watcher {
        watch::Watcher::new(
            self.wsc.clone(),
            watch::WatchSettings { channel_id, interval, warn_before, demo: self.demo },
            self.store.clone(),
            self.metrics.clone(),
        )
    }

    /// `true` the first time interaction `id` arrives, in any replica sharing the store. When the
    /// store cannot say, the interaction is handled: a repeat costs less than a lost stop.
    /// A repeat to this process is refused without asking the store, so a slow or unreachable
    /// store never lets one through here; the store tells the other replicas' deliveries apart.
    pub async fn first_delivery(&self, id: u64) -> bool {
        if !self.seen.first_delivery(id) {
            return false;
        }
        self.store.first_delivery(id).await.unwrap_or_else(|error| {
            self.store_failed("first_delivery", &error);
            true
        })
    }

    /// Claims `instance` for one cancel or stop: in this process, then in the store. When the
    /// store cannot be reached the process's own claim is enough: a store outage never blocks a
    /// stop, and WSC refuses a second stop of a job that no longer runs.
    async fn claim(&self, instance: u64, holder: &str) -> Option<Claim> {
        if !self.lock_in_flight().insert(instance) {
            return None;
        }
        let in_store = match self.store.claim(instance, holder, self.claim_ttl).await {
            Ok(true) => true,
            Ok(false) => {
                self.lock_in_flight().remove(&instance);
                return None;
            }
            Err(error) => {
                self.store_failed("claim", &error);
                false
            }
        };
        Some(Claim { instance, holder: holder.to_owned(), in_store })
    }

    async fn release(&self, claim: Claim) {
        if claim.in_store {
            if let Err(error) = self.store.release(claim.instance, &claim.holder).await {
                self.store_failed("release", &error);
            }
        }
        self.lock_in_flight().remove(&claim.instance);
    }

    /// Leaves `claim` in the store to expire on its own (a stop done: nobody need stop it again),
    /// and frees it in this process.
    fn keep(&self, claim: Claim) {
        self.lock_in_flight().remove(&claim.instance);
    }

    fn lock_in_flight(&self) -> std::sync::MutexGuard<'_, HashSet<u64>> {
        lock(&self.in_flight)
    }

    /// An audit event: logged, appended to the store, and posted to the audit channel unless it
    /// is `Attempted` (so a slow Discord never delays the WSC call it precedes).
    async fn record<D: Discord>(&self, discord: &D, event: &AuditEvent) {
        event.emit();
        self.save_audit(Some(event)).await;
        let Some(channel) = self.audit_channel.filter(|_| event.outcome != Outcome::Attempted) else {
            return;
        };
        let line = Reply::text(event.line());
        let posted = ports::with_retries("the audit line", 3, || {
            discord.send_message(channel, line.clone().message())
        })
        .await;
        if let Err(error) = posted {
            tracing::warn!(channel, %error, "could not post to the audit channel");
        }
    }

    /// Takes or renews the lease that lets `holder` be the one `run` replica connected to the
    /// gateway, for `ttl`; `Err` when the store cannot say.
    pub async fn hold_gateway(&self, holder: &str, ttl: Duration) -> Result<bool, ports::StoreError> {
        self.store.lease("gateway", holder, ttl).await.inspect_err(|error| self.store_failed("lease", error))
    }

    /// Whether to register the commands of `version` (their definitions and guilds): only the
    /// first replica to start with them does. When the store cannot say, registering again is
    /// harmless (it overwrites). Call `registration_failed` if Discord refused them.
    pub async fn first_registration(&self, version: &str) -> bool {
        self.store.first_registration(version).await.unwrap_or_else(|error| {
            self.store_failed("first_registration", &error);
            true
        })
    }

    pub async fn registration_failed(&self, version: &str) {
        if let Err(error) = self.store.forget_registration(version).await {
            self.store_failed("forget_registration", &error);
        }
    }

    /// How often `settle` looks for interrupted attempts.
    pub fn settle_interval(&self) -> Duration {
        self.claim_ttl.min(Duration::from_secs(30))
    }

    /// Settles the cancels and stops whose outcome was never written (the process stopped
    /// between WSC's call and its answer), once no confirm can still be running them: each job
    /// is read again, and the audit trail and channel are told what most likely happened. One
    /// replica settles each, under a lease named after the attempt.
    pub async fn settle<D: Discord>(&self, discord: &D) {
        let before =
            ports::now_ms().saturating_sub(i64::try_from(self.claim_ttl.as_millis()).unwrap_or(i64::MAX));
        let attempts = match self.store.unsettled_attempts(before).await {
            Ok(attempts) => attempts,
            Err(error) => return self.store_failed("unsettled_attempts", &error),
        };
        let settler = format!("{}-{:08x}", std::process::id(), fastrand::u32(..));
        for attempt in attempts {
            let Some(act) = action::Act::from_verb(&attempt.action) else { continue };
            match self.store.lease(&format!("settle:{}", attempt.correlation), &settler, self.claim_ttl).await
            {
                Ok(true) => {}
                Ok(false) => continue,
                Err(error) => return self.store_failed("lease", &error),
            }
            let job = match self.wsc.find_job(attempt.instance).await {
                Ok(job) => job,
                Err(error) => {
                    tracing::warn!(
                        kind = error.kind.name(),
                        instance = attempt.instance,
                        "could not read a job to settle its interrupted attempt; trying later"
                    );
                    continue;
                }
            };
            let outcome = match &job {
                None => Outcome::NotFound,
                Some(job) if job.state.allows(act.job_action()) => Outcome::Abandoned,
                Some(_) => Outcome::Unconfirmed,
            };
            let event = AuditEvent {
                at_ms: ports::now_ms(),
                correlation: attempt.correlation,
                interaction: attempt.interaction,
                actor_id: attempt.actor_id,
                actor_name: attempt.actor_name,
                matched_role: attempt.matched_role,
                act,
                instance: attempt.instance,
                target_url: job.map(|j| j.start_url).or(attempt.target_url),
                outcome,
                wsc_code: None,
                request_id: None,
                latency_ms: u64::try_from(ports::now_ms().saturating_sub(attempt.at_ms)).unwrap_or(0),
                reason: Some("settled after a restart: the bot stopped before WSC answered".to_owned()),
            };
            tracing::warn!(correlation = %event.correlation, instance = event.instance, outcome = outcome.name(), "settled an attempt interrupted by a restart");
            self.record(discord, &event).await;
        }
    }

    /// Lets the store forget what has expired, and audit events older than `audit_retention`.
    pub async fn housekeep(&self, audit_retention: Duration) {
        if let Err(error) = self.store.housekeep(audit_retention).await {
            self.store_failed("housekeep", &error);
        }
    }

    /// Writes the audit events the store did not take before, oldest first, then `event`; what
    /// the store still refuses waits for the next call (every `settle_interval` at least).
    pub async fn save_audit(&self, event: Option<&AuditEvent>) {
        let mut unsaved: Vec<AuditEvent> = {
            let mut kept = lock(&self.unsaved);
            kept.drain(..).collect()
        };
        unsaved.extend(event.cloned());
        let mut rest = unsaved.into_iter();
        for next in rest.by_ref() {
            if let Err(error) = self.store.append_audit(&next).await {
                self.store_failed("append_audit", &error);
                let mut kept = lock(&self.unsaved);
                kept.push_back(next);
                kept.extend(rest);
                while kept.len() > UNSAVED_KEPT {
                    kept.pop_front();
                }
                return;
            }
        }
    }

    fn store_failed(&self, operation: &'static str, error: &ports::StoreError) {
        self.metrics.store_error(operation);
        tracing::warn!(operation, %error, "the store failed; going on without it");
    }

    /// One page of jobs, listed or searched.
    async fn jobs_page(
        &self,
        page: u32,
        filter: &JobFilter,
    ) -> Result<crate::wsc::JobPage, crate::wsc::WscError> {
        if filter.is_empty() {
            let listed = self.wsc.list_jobs(page, view::PAGE_SIZE).await;
            if let (1, Ok(first)) = (page, &listed) {
                self.cache.remember_first_page(first);
            }
            return listed;
        }
        let query = crate::wsc::SearchQuery {
            field: filter.field,
            keyword: filter.keyword.clone(),
            status_code: filter.status,
            page,
            limit: view::PAGE_SIZE,
        };
        self.wsc.search_jobs(&query).await
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const GUILD: u64 = 900000000000000003;

    /// A slash command in `GUILD` through the guild install, changed by `edit`.
    fn command(edit: impl FnOnce(&mut serde_json::Value)) -> Incoming {
        let mut payload = json!({
            "id": "5", "application_id": "6", "type": 2, "token": "secret-interaction-token-123",
            "version": 1, "locale": "en-US", "guild_locale": "en-US", "channel_id": "7",
            "guild_id": GUILD.to_string(), "context": 0,
            "authorizing_integration_owners": {"0": GUILD.to_string()},
            "member": {"user": {"id": "8", "username": "oncall", "discriminator": "0"}, "roles": [],
                       "joined_at": "2024-01-01T00:00:00.000000+00:00", "deaf": false, "mute": false, "flags": 0},
            "data": {"id": "9", "name": "wsc", "type": 1, "options": [{"name": "jobs", "type": 1, "options": []}]},
            "entitlements": [], "attachment_size_limit": 10485760
        });
        edit(&mut payload);
        let interaction: Interaction = serde_json::from_value(payload).unwrap();
        Incoming::from_interaction(&interaction).unwrap()
    }

    #[test]
    fn debug_never_shows_the_interaction_token() {
        let incoming = command(|_| {});
        assert_eq!(incoming.token.as_str(), "secret-interaction-token-123");
        let shown = format!("{incoming:?} {incoming:#?}");
        assert!(!shown.contains("secret-interaction-token-123"), "{shown}");
        assert!(shown.contains("redacted"), "{shown}");
    }

    #[test]
    fn only_the_guild_install_in_a_guild_counts_as_the_guild() {
        let incoming = command(|_| {});
        assert_eq!((incoming.guild_id, incoming.guild_installed, incoming.user_id), (Some(GUILD), true, 8));
        assert!(command(|p| p["context"] = json!(null)).guild_installed, "payloads before `context`");
        let user_install = command(|p| p["authorizing_integration_owners"] = json!({"1": "8"}));
        assert!(!user_install.guild_installed);
        let other_install = command(|p| p["authorizing_integration_owners"] = json!({"0": "42"}));
        assert!(!other_install.guild_installed, "installed in another guild than the one used in");
        assert!(!command(|p| p["context"] = json!(2)).guild_installed);
        let dm = command(|p| {
            let object = p.as_object_mut().unwrap();
            let member = object.remove("member").unwrap();
            object.remove("guild_id");
            object.insert("user".into(), member["user"].clone());
            object.insert("context".into(), json!(1));
            object.insert("authorizing_integration_owners".into(), json!({"0": "0"}));
        });
        assert_eq!((dm.guild_id, dm.guild_installed, dm.user_id, dm.actor.is_none()), (None, false, 8, true));
    }

    /// serenity keeps no install owners of a modal submission: only the guild and member count.
    #[test]
    fn a_modal_submission_is_the_guilds_only_from_a_member_in_a_guild() {
        let modal = |edit: fn(&mut serde_json::Value)| {
            let mut payload = json!({
                "id": "5", "application_id": "6", "type": 5, "token": "t", "version": 1, "locale": "ko",
                "channel_id": "7", "guild_id": GUILD.to_string(),
                "member": {"user": {"id": "8", "username": "oncall", "discriminator": "0"}, "roles": ["3"],
                           "joined_at": "2024-01-01T00:00:00.000000+00:00", "deaf": false, "mute": false, "flags": 0},
                "data": {"custom_id": "wsc:v1:reason-stop:42", "components": [{"type": 1, "components": [
                    {"type": 4, "custom_id": "reason", "value": "why"}]}]},
                "entitlements": [], "attachment_size_limit": 10485760
            });
            edit(&mut payload);
            Incoming::from_interaction(&serde_json::from_value(payload).unwrap()).unwrap()
        };
        let submitted = modal(|_| {});
        assert!(submitted.guild_installed && submitted.lang() == Lang::Ko);
        let fields = vec![("reason".to_owned(), Some("why".to_owned()))];
        assert_eq!(submitted.kind, Kind::Modal { custom_id: "wsc:v1:reason-stop:42".into(), fields });
        let dm = modal(|p| {
            let object = p.as_object_mut().unwrap();
            let member = object.remove("member").unwrap();
            object.remove("guild_id");
            object.insert("user".into(), member["user"].clone());
        });
        assert_eq!((dm.guild_installed, dm.actor.is_none()), (false, true));
    }
}
