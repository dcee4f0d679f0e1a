//! The bot's flows: list, page, ask, confirm, keep, report, autocomplete. Each acknowledges
//! Discord before its first WSC call and checks the roles of the member in the interaction it
//! is handling.

use std::time::{Duration, Instant};

use serenity::all::{CreateAutocompleteResponse, CreateInteractionResponse};
use tracing::Instrument;

use super::action::{Act, ButtonId, CommandRequest, JobFilter, Wanted};
use super::audit::{AuditEvent, Outcome};
use super::i18n::{Lang, Msg};
use super::policy::{Decision, Permission};
use super::text::correlation_id;
use super::view::{self, Denied, Reply, PAGE_SIZE};
use super::{Actor, Core, Discord, Incoming, Kind};
use crate::wsc::{ErrorKind, Job, JobAction, JobPage, SearchQuery, WscError};

/// Autocomplete waits at most this long for a first fill of the cache, well within Discord's 3 s.
const AUTOCOMPLETE_WAIT: Duration = Duration::from_millis(1500);
const AUTOCOMPLETE_CHOICES: usize = 25;

/// One interaction being handled.
struct Turn<'a, D> {
    core: &'a Core,
    discord: &'a D,
    incoming: &'a Incoming,
    /// `command`, `button` or `autocomplete`, for the metrics and the audit trail.
    kind: &'static str,
    /// The sender's language, for what only they see.
    lang: Lang,
    correlation: String,
    received: Instant,
    /// How it ended, for the metrics: `ok`, `denied`, `invalid`, `wsc_error` or `unanswered`.
    outcome: std::sync::Mutex<&'static str>,
}

/// Who tries which action on which job: the fixed part of its audit events.
struct Attempt<'a> {
    actor: &'a Actor,
    matched_role: Option<u64>,
    act: Act,
    instance: u64,
    started: Instant,
}

/// NCP's error code and request id, for the audit trail.
#[derive(Default)]
struct NcpRef {
    code: Option<String>,
    request_id: Option<String>,
}

impl From<&WscError> for NcpRef {
    fn from(error: &WscError) -> Self {
        Self { code: error.code.clone(), request_id: error.request_id.clone() }
    }
}

/// Removes a job from the in-flight set when the confirm is done, however it ends.
struct InFlight<'a> {
    core: &'a Core,
    instance: u64,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.core.in_flight.lock().unwrap_or_else(|p| p.into_inner()).remove(&self.instance);
    }
}

impl Core {
    pub async fn handle<D: Discord>(&self, discord: &D, incoming: Incoming) {
        let correlation = correlation_id();
        let span = tracing::info_span!("interaction", id = incoming.id, correlation = %correlation);
        let kind = match incoming.kind {
            Kind::Command(_) => "command",
            Kind::Button { .. } => "button",
            Kind::Autocomplete(_) => "autocomplete",
        };
        let turn = Turn {
            core: self,
            discord,
            incoming: &incoming,
            kind,
            lang: incoming.lang(),
            correlation,
            received: Instant::now(),
            outcome: std::sync::Mutex::new("ok"),
        };
        turn.run().instrument(span).await;
        let outcome = *turn.outcome.lock().unwrap_or_else(|p| p.into_inner());
        crate::metrics::metrics().interaction(kind, outcome);
    }

    fn claim(&self, instance: u64) -> Option<InFlight<'_>> {
        let claimed = self.in_flight.lock().unwrap_or_else(|p| p.into_inner()).insert(instance);
        // The guard is made after the lock is released: its Drop takes the same lock.
        claimed.then(|| InFlight { core: self, instance })
    }

    /// One page of jobs, listed or searched.
    async fn jobs_page(&self, page: u32, filter: &JobFilter) -> Result<JobPage, WscError> {
        if filter.is_empty() {
            return self.wsc.list_jobs(page, PAGE_SIZE).await;
        }
        let query = SearchQuery {
            field: filter.field,
            keyword: filter.keyword.clone(),
            status_code: filter.status,
            page,
            limit: PAGE_SIZE,
        };
        self.wsc.search_jobs(&query).await
    }
}

impl<D: Discord> Turn<'_, D> {
    async fn run(&self) {
        // Only for the team's own guilds: anything else is refused before anything happens.
        let actor = match &self.incoming.actor {
            Some(actor) if self.core.serves(self.incoming) => actor,
            _ => return self.refuse_outsider().await,
        };
        match &self.incoming.kind {
            Kind::Command(CommandRequest::Jobs { filter: Err(error), .. }) => {
                self.mark("invalid");
                self.reply_now(view::invalid_filter(self.lang, error)).await;
            }
            Kind::Command(CommandRequest::Jobs { page, private, filter: Ok((filter, shortened)) }) => {
                self.jobs(actor, *page, *private, filter, *shortened).await;
            }
            Kind::Command(
                CommandRequest::Act { instance: Err((raw, error)), .. }
                | CommandRequest::Report { instance: Err((raw, error)) },
            ) => {
                self.mark("invalid");
                self.reply_now(view::invalid_instance(self.lang, raw, *error)).await;
            }
            Kind::Command(CommandRequest::Act { act, instance: Ok(instance) }) => {
                self.ask(actor, *act, *instance, None, None).await;
            }
            Kind::Command(CommandRequest::Report { instance: Ok(instance) }) => {
                self.report(actor, *instance).await;
            }
            Kind::Command(CommandRequest::Unknown) => {
                self.reply_now(view::plain(self.lang, Msg::UnknownCommand)).await;
            }
            Kind::Button { custom_id, origin, shown } => match ButtonId::parse(custom_id) {
                Ok(ButtonId::Ask { act, instance }) => {
                    self.ask(actor, act, instance, *origin, shown.clone()).await
                }
                Ok(ButtonId::Confirm { act, instance, origin }) => {
                    self.confirm(actor, act, instance, origin).await;
                }
                Ok(ButtonId::Keep { instance }) => {
                    let reply = view::kept(self.lang, instance);
                    self.respond(CreateInteractionResponse::UpdateMessage(reply.response(true))).await;
                }
                Ok(ButtonId::Page { page, filter } | ButtonId::Refresh { page, filter }) => {
                    self.page(actor, page, &filter, origin.is_some()).await;
                }
                Ok(ButtonId::Report { instance }) => self.report(actor, instance).await,
                Err(error) => {
                    tracing::warn!(custom_id = %custom_id.escape_debug(), %error, "refused a button");
                    self.mark("invalid");
                    self.reply_now(view::bad_button(self.lang, &self.correlation)).await;
                }
            },
            Kind::Autocomplete(None) => self.choices(Vec::new()).await,
            Kind::Autocomplete(Some((wanted, typed))) => self.autocomplete(actor, *wanted, typed).await,
        }
    }

    /// Another guild, a DM or a user install: a short refusal, no choices, no WSC call.
    async fn refuse_outsider(&self) {
        let incoming = self.incoming;
        self.mark("refused");
        super::audit::refused(&self.correlation, incoming.id, incoming.user_id, incoming.guild_id, self.kind);
        match incoming.kind {
            Kind::Autocomplete(_) => self.choices(Vec::new()).await,
            _ => self.reply_now(view::plain(self.lang, Msg::NotServedHere)).await,
        }
    }

    fn mark(&self, outcome: &'static str) {
        *self.outcome.lock().unwrap_or_else(|p| p.into_inner()) = outcome;
    }

    /// Whether `actor` may view; if not, they are told and `false` comes back.
    async fn may_view(&self, actor: &Actor) -> bool {
        match self.core.roles.decide(&actor.roles, Permission::View) {
            Decision::Allowed { .. } => true,
            Decision::Denied { needed } => {
                self.mark("denied");
                self.reply_now(view::denied(self.lang, &needed, Denied::View)).await;
                false
            }
        }
    }

    /// The language of a message: the guild's when the channel sees it, the sender's when only
    /// they do.
    fn lang_for(&self, public: bool) -> Lang {
        if public {
            self.incoming.team_lang()
        } else {
            self.lang
        }
    }

    /// `/wsc jobs`: everyone in the channel sees one status, unless asked privately.
    async fn jobs(&self, actor: &Actor, page: u32, private: bool, filter: &JobFilter, shortened: bool) {
        if !self.may_view(actor).await || !self.defer(private).await {
            return;
        }
        let lang = self.lang_for(!private);
        let reply = match self.core.jobs_page(page, filter).await {
            Ok(jobs) => view::jobs_page(lang, &jobs, page, filter, shortened),
            Err(error) => self.failure_in(lang, &error),
        };
        self.edit_original(reply).await;
    }

    /// ◀ ▶ and Refresh: the message the buttons are on is updated in place, filter kept; a
    /// public one stays in the guild's language.
    async fn page(&self, actor: &Actor, page: u32, filter: &JobFilter, public: bool) {
        if !self.may_view(actor).await || !self.respond(CreateInteractionResponse::Acknowledge).await {
            return;
        }
        match self.core.jobs_page(page, filter).await {
            Ok(jobs) => {
                let reply = view::jobs_page(self.lang_for(public), &jobs, page, filter, false);
                self.edit_original(reply).await
            }
            Err(error) => self.follow_up(self.failure(&error), true).await,
        }
    }

    /// `/wsc report` and the Report button: answered to the person who asked.
    async fn report(&self, actor: &Actor, instance: u64) {
        if !self.may_view(actor).await || !self.defer(true).await {
            return;
        }
        let reply = match self.core.wsc.report(instance).await {
            Ok(report) => view::report(self.lang, instance, None, &report),
            // 901: expired, not finished or unknown; a fresh read says which.
            Err(error) if error.kind == ErrorKind::NotApplicable => {
                match self.core.wsc.find_job(instance).await {
                    Ok(job) => view::no_report(self.lang, instance, job.as_ref()),
                    Err(error) => self.failure(&error),
                }
            }
            Err(error) => self.failure(&error),
        };
        self.edit_original(reply).await;
    }

    /// Job numbers to pick from, only where the action applies, from the cache.
    async fn autocomplete(&self, actor: &Actor, wanted: Wanted, typed: &str) {
        let (permission, action) = match wanted {
            Wanted::Act(act) => (Permission::Act(act), act.job_action()),
            Wanted::Report => (Permission::View, JobAction::Report),
        };
        // Members without the role get no choices, and cause no WSC call.
        if let Decision::Denied { .. } = self.core.roles.decide(&actor.roles, permission) {
            self.choices(Vec::new()).await;
            return;
        }
        let jobs = self.core.cache.jobs(AUTOCOMPLETE_WAIT).await;
        let typed = typed.trim().to_lowercase();
        let choices = jobs
            .iter()
            .filter(|job| job.state.allows(action))
            .filter(|job| {
                typed.is_empty()
                    || job.instance_no.to_string().contains(&typed)
                    || job.start_url.to_lowercase().contains(&typed)
            })
            .take(AUTOCOMPLETE_CHOICES)
            .map(|job| (view::choice_name(self.lang, job), job.instance_no.to_string()))
            .collect();
        self.choices(choices).await;
    }

    async fn choices(&self, choices: Vec<(String, String)>) {
        let response =
            choices.into_iter().fold(CreateAutocompleteResponse::new(), |response, (name, value)| {
                response.add_string_choice(name, value)
            });
        self.respond(CreateInteractionResponse::Autocomplete(response)).await;
    }

    /// Cancel or Stop (command or button): show the job and ask to confirm.
    async fn ask(
        &self,
        actor: &Actor,
        act: Act,
        instance: u64,
        origin: Option<u64>,
        shown: Option<(u32, JobFilter)>,
    ) {
        if let Decision::Denied { needed } = self.core.roles.decide(&actor.roles, Permission::Act(act)) {
            let attempt = Attempt { actor, matched_role: None, act, instance, started: Instant::now() };
            self.mark("denied");
            // Answer first: a slow or rate-limited audit channel must not cost the 3 seconds.
            self.reply_now(view::denied(self.lang, &needed, Denied::Act(act))).await;
            self.audit(&attempt, None, Outcome::Denied, NcpRef::default()).await;
            return;
        }
        if !self.defer(true).await {
            return;
        }
        let reply = match self.core.wsc.find_job(instance).await {
            Err(error) => self.failure(&error),
            Ok(None) => view::no_such_job(self.lang, instance),
            Ok(Some(job)) if !job.state.allows(act.job_action()) => {
                // The button was stale: bring the message it was on up to date.
                self.refresh(origin, shown).await;
                view::not_applicable(self.lang, &job, act)
            }
            Ok(Some(job)) => view::confirmation(self.lang, &job, act, origin),
        };
        self.edit_original(reply).await;
    }

    /// The confirmation's danger button: re-check the role, re-read the job, then act once.
    async fn confirm(&self, actor: &Actor, act: Act, instance: u64, origin: Option<u64>) {
        let started = Instant::now();
        let lang = self.lang;
        let matched_role = match self.core.roles.decide(&actor.roles, Permission::Act(act)) {
            Decision::Allowed { matched_role } => matched_role,
            Decision::Denied { needed } => {
                let attempt = Attempt { actor, matched_role: None, act, instance, started };
                self.mark("denied");
                let reply = view::denied(lang, &needed, Denied::Act(act));
                self.respond(CreateInteractionResponse::UpdateMessage(reply.response(true))).await;
                self.audit(&attempt, None, Outcome::Denied, NcpRef::default()).await;
                return;
            }
        };
        let attempt = Attempt { actor, matched_role, act, instance, started };
        let Some(_claim) = self.core.claim(instance) else {
            let reply = view::in_progress(lang, act);
            self.respond(CreateInteractionResponse::UpdateMessage(reply.response(true))).await;
            self.audit(&attempt, None, Outcome::AlreadyInProgress, NcpRef::default()).await;
            return;
        };
        // Acknowledge, and take the buttons away so the same person cannot confirm twice.
        let working = view::working(lang, act);
        if !self.respond(CreateInteractionResponse::UpdateMessage(working.response(true))).await {
            self.audit(&attempt, None, Outcome::Unanswered, NcpRef::default()).await;
            return;
        }
        let job = match self.core.wsc.find_job(instance).await {
            Ok(Some(job)) => job,
            Ok(None) => {
                self.audit(&attempt, None, Outcome::NotFound, NcpRef::default()).await;
                self.edit_original(view::no_such_job(lang, instance)).await;
                return;
            }
            Err(error) => {
                self.audit(&attempt, None, Outcome::Failed(error.kind), NcpRef::from(&error)).await;
                self.edit_original(self.failure(&error)).await;
                return;
            }
        };
        if !job.state.allows(act.job_action()) {
            self.audit(&attempt, Some(&job), Outcome::NotApplicable, NcpRef::default()).await;
            self.edit_original(view::not_applicable(lang, &job, act)).await;
            self.refresh(origin, None).await;
            return;
        }
        // Before the call: if the process dies during it, the trail still says who asked.
        self.audit(&attempt, Some(&job), Outcome::Attempted, NcpRef::default()).await;
        let result = match act {
            Act::Stop => self.core.wsc.stop_job(instance).await,
            Act::Cancel => self.core.wsc.cancel_job(instance).await,
        };
        self.core.cache.invalidate();
        let public = view::public_outcome(self.incoming.team_lang(), actor.id, act, &job);
        match result {
            Ok(info) => {
                let ncp = NcpRef { code: None, request_id: info.request_id };
                self.audit(&attempt, Some(&job), Outcome::Done, ncp).await;
                self.edit_original(view::done_privately(lang, act, &job)).await;
                self.follow_up(public, false).await;
            }
            Err(error) if error.kind == ErrorKind::NotApplicable || error.kind.outcome_unknown() => {
                // Never retried: read the job again and say what state it is in.
                let now = self.core.wsc.find_job(instance).await.ok().flatten();
                let moved_on = now.filter(|j| !j.state.allows(act.job_action()));
                let outcome = match (error.kind, &moved_on) {
                    (ErrorKind::NotApplicable, Some(_)) => Outcome::NotApplicable,
                    (_, Some(_)) => Outcome::Unconfirmed,
                    (kind, None) => Outcome::Failed(kind),
                };
                self.audit(&attempt, Some(&job), outcome, NcpRef::from(&error)).await;
                let reply = match (outcome, moved_on) {
                    (Outcome::Unconfirmed, Some(now)) => {
                        self.follow_up(public, false).await;
                        view::unconfirmed(lang, &now)
                    }
                    (Outcome::NotApplicable, Some(now)) => view::not_applicable(lang, &now, act),
                    _ => self.failure(&error),
                };
                self.edit_original(reply).await;
            }
            Err(error) => {
                self.audit(&attempt, Some(&job), Outcome::Failed(error.kind), NcpRef::from(&error)).await;
                self.edit_original(self.failure(&error)).await;
                return;
            }
        }
        self.refresh(origin, None).await;
    }

    /// Brings a public jobs message up to date; a failure here is only logged.
    async fn refresh(&self, origin: Option<u64>, shown: Option<(u32, JobFilter)>) {
        let Some(message_id) = origin else { return };
        let channel = self.incoming.channel_id;
        let shown = match shown {
            Some(shown) => Some(shown),
            None => match self.discord.get_message(channel, message_id).await {
                Ok(message) => super::shown_view(&message),
                Err(error) => {
                    tracing::warn!(message_id, %error, "could not read the jobs message to refresh it");
                    return;
                }
            },
        };
        let Some((page, filter)) = shown else { return };
        match self.core.jobs_page(page, &filter).await {
            Ok(jobs) => {
                let view = view::jobs_page(self.incoming.team_lang(), &jobs, page, &filter, false);
                if let Err(error) = self.discord.edit_message(channel, message_id, view.edit_message()).await
                {
                    tracing::warn!(message_id, %error, "could not refresh the jobs message");
                }
            }
            Err(error) => {
                tracing::warn!(message_id, %error, "could not list jobs to refresh the jobs message")
            }
        }
    }

    /// The sender's sentence for a WSC error; the details are logged under the same reference.
    fn failure(&self, error: &WscError) -> Reply {
        self.failure_in(self.lang, error)
    }

    /// The same, in `lang` (the guild's, when it goes into a public message).
    fn failure_in(&self, lang: Lang, error: &WscError) -> Reply {
        self.mark("wsc_error");
        tracing::warn!(
            correlation = %self.correlation,
            kind = error.kind.name(),
            code = error.code.as_deref(),
            request_id = error.request_id.as_deref(),
            detail = %error.detail,
            "told the user a WSC call failed"
        );
        view::wsc_failure(lang, error.kind, &self.correlation)
    }

    /// The audit event, and its line in the audit channel; `Attempted` is only logged, so a slow
    /// Discord never delays the WSC call it precedes.
    async fn audit(&self, attempt: &Attempt<'_>, job: Option<&Job>, outcome: Outcome, ncp: NcpRef) {
        let event = AuditEvent {
            correlation: self.correlation.clone(),
            interaction: self.incoming.id,
            actor_id: attempt.actor.id,
            actor_name: attempt.actor.name.clone(),
            matched_role: attempt.matched_role,
            act: attempt.act,
            instance: attempt.instance,
            target_url: job.map(|j| j.start_url.clone()),
            outcome,
            wsc_code: ncp.code,
            request_id: ncp.request_id,
            latency_ms: attempt.started.elapsed().as_millis() as u64,
        };
        event.emit();
        if outcome == Outcome::Attempted {
            return;
        }
        if let Some(channel) = self.core.audit_channel {
            if let Err(error) = self.discord.send_message(channel, Reply::text(event.line()).message()).await
            {
                tracing::warn!(channel, %error, "could not post to the audit channel");
            }
        }
    }

    async fn defer(&self, ephemeral: bool) -> bool {
        let message = serenity::all::CreateInteractionResponseMessage::new().ephemeral(ephemeral);
        self.respond(CreateInteractionResponse::Defer(message)).await
    }

    /// An immediate ephemeral answer that needs no WSC call.
    async fn reply_now(&self, reply: Reply) {
        self.respond(CreateInteractionResponse::Message(reply.response(true))).await;
    }

    /// The first answer; `false` when Discord did not take it (the interaction is then dead).
    async fn respond(&self, response: CreateInteractionResponse) -> bool {
        match self.discord.respond(self.incoming.id, self.incoming.token.as_str(), response).await {
            Ok(()) => {
                crate::metrics::metrics().acknowledged(self.received.elapsed());
                true
            }
            Err(error) => {
                self.mark("unanswered");
                tracing::warn!(%error, "could not answer the interaction");
                false
            }
        }
    }

    async fn edit_original(&self, reply: Reply) {
        if let Err(error) = self.discord.edit_original(self.incoming.token.as_str(), reply.edit()).await {
            tracing::warn!(%error, "could not edit the response");
        }
    }

    /// The team's message is tried three times (after 1 s, then 2 s): a stop nobody hears of is
    /// worse than one announced twice.
    async fn follow_up(&self, reply: Reply, ephemeral: bool) {
        let tries = if ephemeral { 1 } else { 3 };
        for attempt in 1..=tries {
            let message = reply.clone().follow_up(ephemeral);
            match self.discord.follow_up(self.incoming.token.as_str(), message).await {
                Ok(()) => return,
                Err(error) => tracing::warn!(%error, attempt, tries, "could not send a follow-up"),
            }
            if attempt < tries {
                tokio::time::sleep(Duration::from_secs(attempt)).await;
            }
        }
    }
}
