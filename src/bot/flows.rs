//! The bot's flows: list, ask, confirm, keep, page. Each acknowledges Discord before its first
//! WSC call and checks the roles of the member in the interaction it is handling.

use std::time::Instant;

use serenity::all::{CreateAutocompleteResponse, CreateInteractionResponse};
use tracing::Instrument;

use super::action::{Act, ButtonId, CommandRequest};
use super::audit::{AuditEvent, Outcome};
use super::policy::{Decision, Permission};
use super::text::correlation_id;
use super::view::{self, Reply, PAGE_SIZE};
use super::{Actor, Core, Discord, Incoming, Kind};
use crate::wsc::{ErrorKind, Job, WscError};

/// One interaction being handled.
struct Turn<'a, D> {
    core: &'a Core,
    discord: &'a D,
    incoming: &'a Incoming,
    correlation: String,
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
        let turn = Turn { core: self, discord, incoming: &incoming, correlation };
        turn.run().instrument(span).await;
    }

    fn claim(&self, instance: u64) -> Option<InFlight<'_>> {
        let claimed = self.in_flight.lock().unwrap_or_else(|p| p.into_inner()).insert(instance);
        // The guard is made after the lock is released: its Drop takes the same lock.
        claimed.then(|| InFlight { core: self, instance })
    }
}

impl<D: Discord> Turn<'_, D> {
    async fn run(&self) {
        let Some(actor) = &self.incoming.actor else {
            if self.incoming.kind != Kind::Autocomplete {
                self.respond(CreateInteractionResponse::Message(view::guild_only().response(true))).await;
            }
            return;
        };
        match &self.incoming.kind {
            Kind::Command(CommandRequest::Jobs { page, private }) => self.jobs(actor, *page, *private).await,
            Kind::Command(CommandRequest::Act { instance: Err((raw, error)), .. }) => {
                self.respond(CreateInteractionResponse::Message(
                    view::invalid_instance(raw, *error).response(true),
                ))
                .await;
            }
            Kind::Command(CommandRequest::Act { act, instance: Ok(instance) }) => {
                self.ask(actor, *act, *instance, None, None).await
            }
            Kind::Command(CommandRequest::Unknown) => {
                self.respond(CreateInteractionResponse::Message(view::unknown_command().response(true)))
                    .await;
            }
            Kind::Button { custom_id, origin, shown_page } => match ButtonId::parse(custom_id) {
                Ok(ButtonId::Ask { act, instance }) => {
                    self.ask(actor, act, instance, *origin, *shown_page).await
                }
                Ok(ButtonId::Confirm { act, instance, origin }) => {
                    self.confirm(actor, act, instance, origin).await
                }
                Ok(ButtonId::Keep { instance }) => {
                    self.respond(CreateInteractionResponse::UpdateMessage(
                        view::kept(instance).response(true),
                    ))
                    .await;
                }
                Ok(ButtonId::Page { page } | ButtonId::Refresh { page }) => self.page(actor, page).await,
                Err(error) => {
                    tracing::warn!(custom_id = %custom_id.escape_debug(), %error, "refused a button");
                    self.respond(CreateInteractionResponse::Message(
                        view::bad_button(&self.correlation).response(true),
                    ))
                    .await;
                }
            },
            Kind::Autocomplete => {
                self.respond(CreateInteractionResponse::Autocomplete(CreateAutocompleteResponse::new()))
                    .await;
            }
        }
    }

    /// `/wsc jobs`: everyone in the channel sees one status, unless asked privately.
    async fn jobs(&self, actor: &Actor, page: u32, private: bool) {
        if let Decision::Denied { needed } = self.core.roles.decide(&actor.roles, Permission::View) {
            let reply = view::denied(&needed, "see scan jobs");
            self.respond(CreateInteractionResponse::Message(reply.response(true))).await;
            return;
        }
        if !self.defer(private).await {
            return;
        }
        let reply = match self.core.wsc.list_jobs(page, PAGE_SIZE).await {
            Ok(jobs) => view::jobs_page(&jobs, page),
            Err(error) => self.failure(&error),
        };
        self.edit_original(reply).await;
    }

    /// ◀ ▶ and Refresh: the message the buttons are on is updated in place.
    async fn page(&self, actor: &Actor, page: u32) {
        if let Decision::Denied { needed } = self.core.roles.decide(&actor.roles, Permission::View) {
            let reply = view::denied(&needed, "see scan jobs");
            self.respond(CreateInteractionResponse::Message(reply.response(true))).await;
            return;
        }
        if !self.respond(CreateInteractionResponse::Acknowledge).await {
            return;
        }
        match self.core.wsc.list_jobs(page, PAGE_SIZE).await {
            Ok(jobs) => self.edit_original(view::jobs_page(&jobs, page)).await,
            Err(error) => self.follow_up(self.failure(&error), true).await,
        }
    }

    /// Cancel or Stop (command or button): show the job and ask to confirm.
    async fn ask(
        &self,
        actor: &Actor,
        act: Act,
        instance: u64,
        origin: Option<u64>,
        shown_page: Option<u32>,
    ) {
        if let Decision::Denied { needed } = self.core.roles.decide(&actor.roles, Permission::Act(act)) {
            let attempt = Attempt { actor, matched_role: None, act, instance, started: Instant::now() };
            self.audit(&attempt, None, Outcome::Denied, NcpRef::default()).await;
            self.respond(CreateInteractionResponse::Message(
                view::denied(&needed, view::action_phrase(act)).response(true),
            ))
            .await;
            return;
        }
        if !self.defer(true).await {
            return;
        }
        let reply = match self.core.wsc.find_job(instance).await {
            Err(error) => self.failure(&error),
            Ok(None) => view::no_such_job(instance),
            Ok(Some(job)) if !job.state.allows(act.job_action()) => {
                // The button was stale: bring the message it was on up to date.
                self.refresh(origin, shown_page).await;
                view::not_applicable(&job, act)
            }
            Ok(Some(job)) => view::confirmation(&job, act, origin),
        };
        self.edit_original(reply).await;
    }

    /// The confirmation's danger button: re-check the role, re-read the job, then act once.
    async fn confirm(&self, actor: &Actor, act: Act, instance: u64, origin: Option<u64>) {
        let started = Instant::now();
        let matched_role = match self.core.roles.decide(&actor.roles, Permission::Act(act)) {
            Decision::Allowed { matched_role } => matched_role,
            Decision::Denied { needed } => {
                let attempt = Attempt { actor, matched_role: None, act, instance, started };
                self.audit(&attempt, None, Outcome::Denied, NcpRef::default()).await;
                let reply = view::denied(&needed, view::action_phrase(act));
                self.respond(CreateInteractionResponse::UpdateMessage(reply.response(true))).await;
                return;
            }
        };
        let attempt = Attempt { actor, matched_role, act, instance, started };
        let Some(_claim) = self.core.claim(instance) else {
            self.audit(&attempt, None, Outcome::AlreadyInProgress, NcpRef::default()).await;
            self.respond(CreateInteractionResponse::UpdateMessage(view::in_progress(act).response(true)))
                .await;
            return;
        };
        // Acknowledge, and take the buttons away so the same person cannot confirm twice.
        if !self.respond(CreateInteractionResponse::UpdateMessage(view::working(act).response(true))).await {
            return;
        }
        let job = match self.core.wsc.find_job(instance).await {
            Ok(Some(job)) => job,
            Ok(None) => {
                self.audit(&attempt, None, Outcome::NotFound, NcpRef::default()).await;
                self.edit_original(view::no_such_job(instance)).await;
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
            self.edit_original(view::not_applicable(&job, act)).await;
            self.refresh(origin, None).await;
            return;
        }
        let result = match act {
            Act::Stop => self.core.wsc.stop_job(instance).await,
            Act::Cancel => self.core.wsc.cancel_job(instance).await,
        };
        match result {
            Ok(info) => {
                let ncp = NcpRef { code: None, request_id: info.request_id };
                self.audit(&attempt, Some(&job), Outcome::Done, ncp).await;
                self.edit_original(view::done_privately(act, &job)).await;
                self.follow_up(view::public_outcome(actor.id, act, &job), false).await;
            }
            Err(error) if matches!(error.kind, ErrorKind::NotApplicable | ErrorKind::Timeout) => {
                // Never retried: read the job again and say what state it is in.
                let now = self.core.wsc.find_job(instance).await.ok().flatten();
                let moved_on = now.filter(|j| !j.state.allows(act.job_action()));
                let outcome = match (error.kind, &moved_on) {
                    (ErrorKind::Timeout, Some(_)) => Outcome::Unconfirmed,
                    (ErrorKind::NotApplicable, Some(_)) => Outcome::NotApplicable,
                    (kind, _) => Outcome::Failed(kind),
                };
                self.audit(&attempt, Some(&job), outcome, NcpRef::from(&error)).await;
                let reply = match (outcome, moved_on) {
                    (Outcome::Unconfirmed, Some(now)) => {
                        self.follow_up(view::public_outcome(actor.id, act, &job), false).await;
                        view::unconfirmed(act, &now)
                    }
                    (Outcome::NotApplicable, Some(now)) => view::not_applicable(&now, act),
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
    async fn refresh(&self, origin: Option<u64>, shown_page: Option<u32>) {
        let Some(message_id) = origin else { return };
        let channel = self.incoming.channel_id;
        let page = match shown_page {
            Some(page) => Some(page),
            None => match self.discord.get_message(channel, message_id).await {
                Ok(message) => super::shown_page(&message),
                Err(error) => {
                    tracing::warn!(message_id, %error, "could not read the jobs message to refresh it");
                    return;
                }
            },
        };
        let Some(page) = page else { return };
        match self.core.wsc.list_jobs(page, PAGE_SIZE).await {
            Ok(jobs) => {
                if let Err(error) = self
                    .discord
                    .edit_message(channel, message_id, view::jobs_page(&jobs, page).edit_message())
                    .await
                {
                    tracing::warn!(message_id, %error, "could not refresh the jobs message");
                }
            }
            Err(error) => {
                tracing::warn!(message_id, %error, "could not list jobs to refresh the jobs message")
            }
        }
    }

    /// The user's sentence for a WSC error; the details are logged under the same reference.
    fn failure(&self, error: &WscError) -> Reply {
        tracing::warn!(
            correlation = %self.correlation,
            kind = error.kind.name(),
            code = error.code.as_deref(),
            request_id = error.request_id.as_deref(),
            detail = %error.detail,
            "told the user a WSC call failed"
        );
        view::wsc_failure(error.kind, &self.correlation)
    }

    async fn audit(&self, attempt: &Attempt<'_>, job: Option<&Job>, outcome: Outcome, ncp: NcpRef) {
        let event = AuditEvent {
            correlation: self.correlation.clone(),
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

    /// The first answer; `false` when Discord did not take it (the interaction is then dead).
    async fn respond(&self, response: CreateInteractionResponse) -> bool {
        match self.discord.respond(self.incoming.id, &self.incoming.token, response).await {
            Ok(()) => true,
            Err(error) => {
                tracing::warn!(%error, "could not answer the interaction");
                false
            }
        }
    }

    async fn edit_original(&self, reply: Reply) {
        if let Err(error) = self.discord.edit_original(&self.incoming.token, reply.edit()).await {
            tracing::warn!(%error, "could not edit the response");
        }
    }

    async fn follow_up(&self, reply: Reply, ephemeral: bool) {
        if let Err(error) = self.discord.follow_up(&self.incoming.token, reply.follow_up(ephemeral)).await {
            tracing::warn!(%error, "could not send a follow-up");
        }
    }
}
