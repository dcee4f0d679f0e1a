//! The bot's flows: list, page, ask, confirm, keep, report, autocomplete. The roles are checked
//! once, from the permission table, before any flow runs; each flow acknowledges Discord before
//! its first WSC call and returns how it ended (`Ending`). The person's final answer, the team's
//! message, the refresh of the jobs message, the audit event and the metric are applied from
//! it in one place, `Turn::finish`, in that order: the person hears first.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serenity::all::{
    CreateAutocompleteResponse, CreateInteractionResponse, CreateInteractionResponseMessage,
};
use tracing::Instrument;

use super::action::{Act, AuditFilter, Invalid, JobFilter, Request, Wanted};
use super::audit::{AuditEvent, Outcome};
use super::i18n::{Lang, Msg};
use super::policy::{self, Decision};
use super::ports::{with_retries, AuditQuery, Discord};
use super::text::{correlation_id, one_line, safe_code, truncate};
use super::view::{self, Denied, Reply};
use super::{Actor, Core, Incoming};
use crate::wsc::{ErrorKind, Job, JobAction, NewJob, ScanSpeed, SearchField, SearchQuery, WscError};

/// How long a scan or stop-all confirmation waits in the store (the interaction's own lifetime).
const PENDING_TTL: Duration = Duration::from_secs(15 * 60);
const PENDING_SCAN: &str = "scan";
const PENDING_STOP_ALL: &str = "stop-all";
/// Stops a stop-all sends at once: quick on call, gentle on NCP's rate limits.
const STOP_ALL_AT_ONCE: usize = 4;
/// A stop-all reads at most this many pages of this many jobs.
const RUNNING_PAGES: u32 = 10;
const RUNNING_PAGE_SIZE: u32 = 100;

/// What became of one job a stop-all listed.
enum StopAllResult {
    Stopped,
    Finished,
    Busy,
    Failed,
}

/// Autocomplete waits at most this long for a first fill of the cache, well within Discord's 3 s.
const AUTOCOMPLETE_WAIT: Duration = Duration::from_millis(1500);
const AUTOCOMPLETE_CHOICES: usize = 25;
/// Calls made for a message after the first answer, the first included (see `DiscordError::retry_in`).
const TRIES: u32 = 3;

/// How an interaction counts in the metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Counted {
    #[default]
    Ok,
    Denied,
    Invalid,
    WscError,
    Unanswered,
    Refused,
}

impl Counted {
    fn name(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Denied => "denied",
            Self::Invalid => "invalid",
            Self::WscError => "wsc_error",
            Self::Unanswered => "unanswered",
            Self::Refused => "refused",
        }
    }
}

/// The person's final answer.
enum Answer {
    /// The first answer: a message only they see.
    Reply(Reply),
    /// The first answer: a message the channel sees, unless `private`.
    Message { reply: Reply, private: bool },
    /// The first answer: replaces the (ephemeral) message the button is on.
    Update(Reply),
    /// The first answer to an autocomplete.
    Choices(Vec<(String, String)>),
    /// After the acknowledgement: the response's own message.
    Edit(Reply),
    /// After the acknowledgement of a button: a new message only they see.
    FollowUp(Reply),
}

/// Who tried which action on which job: the fixed part of its audit events.
#[derive(Clone)]
struct Attempt {
    actor_id: u64,
    actor_name: String,
    matched_role: Option<u64>,
    act: Act,
    instance: u64,
    /// Why, when the person said.
    reason: Option<String>,
    started: Instant,
}

impl Attempt {
    fn new(
        actor: &Actor,
        matched_role: Option<u64>,
        act: Act,
        instance: u64,
        reason: Option<String>,
    ) -> Self {
        Self {
            actor_id: actor.id,
            actor_name: actor.name.clone(),
            matched_role,
            act,
            instance,
            reason,
            started: Instant::now(),
        }
    }

    fn ended(&self, job: Option<&Job>, outcome: Outcome, ncp: NcpRef) -> Audited {
        self.ended_at(job.map(|j| j.start_url.clone()), outcome, ncp)
    }

    fn ended_at(&self, target_url: Option<String>, outcome: Outcome, ncp: NcpRef) -> Audited {
        Audited { attempt: self.clone(), target_url, outcome, ncp }
    }
}

/// An attempt and how it ended: one audit event.
struct Audited {
    attempt: Attempt,
    target_url: Option<String>,
    outcome: Outcome,
    ncp: NcpRef,
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

/// How a flow ended: everything that is still to be done about it.
#[derive(Default)]
struct Ending {
    counted: Counted,
    answer: Option<Answer>,
    /// The team's message, in the channel.
    team: Option<Reply>,
    /// The public jobs message to bring up to date, and the page and filter it shows when known.
    refresh: Option<(u64, Option<(u32, JobFilter)>)>,
    /// One event per job acted on (a stop-all has several).
    audit: Vec<Audited>,
}

impl Ending {
    fn answer(answer: Answer) -> Self {
        Self { answer: Some(answer), ..Self::default() }
    }

    /// Discord did not take the first answer: the interaction is dead.
    fn unanswered() -> Self {
        Self { counted: Counted::Unanswered, ..Self::default() }
    }

    fn counted(self, counted: Counted) -> Self {
        Self { counted, ..self }
    }

    fn team(self, reply: Reply) -> Self {
        Self { team: Some(reply), ..self }
    }

    fn refresh(self, origin: Option<u64>, shown: Option<(u32, JobFilter)>) -> Self {
        Self { refresh: origin.map(|message| (message, shown)), ..self }
    }

    fn audited(mut self, audited: Audited) -> Self {
        self.audit.push(audited);
        self
    }
}

/// One interaction being handled.
struct Turn<'a, D> {
    core: &'a Core,
    discord: &'a D,
    incoming: &'a Incoming,
    /// The sender's language, for what only they see.
    lang: Lang,
    correlation: String,
    received: Instant,
}

/// WSC offers a rescan of a finished job whose `rescan_button` is `possible`.
pub(crate) fn rescan_possible(job: &Job) -> bool {
    job.state.allows(JobAction::Report) && job.rescan_button.as_deref().map(str::trim) == Some("possible")
}

impl Core {
    pub async fn handle<D: Discord>(&self, discord: &D, incoming: Incoming) {
        let correlation = correlation_id();
        let span = tracing::info_span!("interaction", id = incoming.id, correlation = %correlation);
        let kind = incoming.kind.name();
        let turn = Turn {
            core: self,
            discord,
            incoming: &incoming,
            lang: incoming.lang(),
            correlation,
            received: Instant::now(),
        };
        async {
            let ending = turn.run().await;
            let counted = turn.finish(ending).await;
            self.metrics.interaction(kind, counted.name());
        }
        .instrument(span)
        .await;
    }
}

impl<D: Discord> Turn<'_, D> {
    async fn run(&self) -> Ending {
        // Only for the team's own guilds: anything else is refused before anything happens.
        let actor = match &self.incoming.actor {
            Some(actor) if self.core.serves(self.incoming) => actor,
            _ => return self.refuse_outsider(),
        };
        let request = Request::of(&self.incoming.kind);
        let matched_role = match policy::permission(&request).map(|p| self.core.roles.decide(&actor.roles, p))
        {
            Some(Decision::Denied { needed }) => return self.denied(actor, &request, &needed),
            Some(Decision::Allowed { matched_role }) => matched_role,
            None => None,
        };
        match request {
            Request::Jobs { page, private, filter, shortened } => {
                self.jobs(page, private, &filter, shortened).await
            }
            Request::Page { page, filter, origin } => self.page(page, &filter, origin.is_some()).await,
            Request::Report { instance } => self.report(instance).await,
            // Scans have flows of their own; no button or command asks for one this way.
            Request::Ask { act: Act::Scan, .. }
            | Request::Confirm { act: Act::Scan, .. }
            | Request::OpenReason { act: Act::Scan, .. } => self.invalid(Invalid::UnknownCommand),
            Request::Ask { act, instance, origin, shown, reason } => {
                self.ask(act, instance, origin, shown, reason.as_deref()).await
            }
            Request::Confirm { act, instance, origin, reason } => {
                self.confirm(Attempt::new(actor, matched_role, act, instance, reason), origin).await
            }
            // A modal must be the first answer: no deferral, no WSC call before it.
            Request::OpenReason { act, instance, origin, reason } => {
                let modal = view::reason_modal(self.lang, act, instance, origin, reason.as_deref());
                if self.respond(CreateInteractionResponse::Modal(modal)).await {
                    Ending::default()
                } else {
                    Ending::unanswered()
                }
            }
            Request::Keep { instance } => Ending::answer(Answer::Update(view::kept(self.lang, instance))),
            Request::Audit { page, filter, update } => self.audit(page, filter, update).await,
            Request::Scan { url, memo, speed } => {
                let reply = match self.core.scan_targets.check(&url) {
                    _ if self.core.scan_targets.is_empty() => view::plain(self.lang, Msg::ScanOff),
                    Err(refusal) => view::scan_refused(self.lang, &url, &refusal),
                    Ok(url) => self.ask_scan(actor, url.as_str(), &memo, speed, None).await,
                };
                Ending::answer(Answer::Reply(reply))
            }
            Request::Rescan { instance } => self.ask_rescan(actor, instance).await,
            Request::ConfirmScan { id } => {
                self.confirm_scan(Attempt::new(actor, matched_role, Act::Scan, 0, None), &id).await
            }
            Request::StopAll { url } => self.ask_stop_all(&url).await,
            Request::ConfirmStopAll { id } => self.confirm_stop_all(actor, matched_role, &id).await,
            Request::Choices { wanted, typed } => self.autocomplete(wanted, &typed).await,
            Request::NoChoices => Ending::answer(Answer::Choices(Vec::new())),
            Request::Invalid(invalid) => self.invalid(invalid),
        }
    }

    /// Another guild, a DM or a user install: a short refusal, no choices, no WSC call.
    fn refuse_outsider(&self) -> Ending {
        let incoming = self.incoming;
        super::audit::refused(
            &self.correlation,
            incoming.id,
            incoming.user_id,
            incoming.guild_id,
            incoming.kind.name(),
        );
        let answer = match incoming.kind {
            super::Kind::Autocomplete(_) => Answer::Choices(Vec::new()),
            _ => Answer::Reply(view::plain(self.lang, Msg::NotServedHere)),
        };
        Ending::answer(answer).counted(Counted::Refused)
    }

    /// A member without the role: told so (no choices, for autocomplete), and no WSC call.
    fn denied(&self, actor: &Actor, request: &Request, needed: &[u64]) -> Ending {
        let lang = self.lang;
        let ending = match request {
            Request::Choices { .. } => Ending::answer(Answer::Choices(Vec::new())),
            Request::Ask { act, instance, .. }
            | Request::Confirm { act, instance, .. }
            | Request::OpenReason { act, instance, .. } => {
                let reply = view::denied(lang, needed, Denied::Act(*act));
                // A confirmation's refusal replaces that private message; a new one otherwise.
                let (answer, reason) = match request {
                    Request::Confirm { reason, .. } => (Answer::Update(reply), reason.clone()),
                    _ => (Answer::Reply(reply), None),
                };
                let attempt = Attempt::new(actor, None, *act, *instance, reason);
                Ending::answer(answer).audited(attempt.ended(None, Outcome::Denied, NcpRef::default()))
            }
            Request::Scan { .. }
            | Request::Rescan { .. }
            | Request::ConfirmScan { .. }
            | Request::StopAll { .. }
            | Request::ConfirmStopAll { .. } => {
                let (act, instance) = match request {
                    Request::StopAll { .. } | Request::ConfirmStopAll { .. } => (Act::Stop, 0),
                    Request::Rescan { instance } => (Act::Scan, *instance),
                    _ => (Act::Scan, 0),
                };
                let reply = view::denied(lang, needed, Denied::Act(act));
                let answer = match request {
                    Request::ConfirmScan { .. } | Request::ConfirmStopAll { .. } => Answer::Update(reply),
                    _ => Answer::Reply(reply),
                };
                let attempt = Attempt::new(actor, None, act, instance, None);
                Ending::answer(answer).audited(attempt.ended(None, Outcome::Denied, NcpRef::default()))
            }
            _ => Ending::answer(Answer::Reply(view::denied(lang, needed, Denied::View))),
        };
        ending.counted(Counted::Denied)
    }

    fn invalid(&self, invalid: Invalid) -> Ending {
        let reply = match &invalid {
            Invalid::Filter(error) => view::invalid_filter(self.lang, error),
            Invalid::Instance(raw, error) => view::invalid_instance(self.lang, raw, *error),
            Invalid::Button(custom_id, error) => {
                tracing::warn!(custom_id = %custom_id.escape_debug(), %error, "refused a button");
                view::bad_button(self.lang, &self.correlation)
            }
            Invalid::Modal(custom_id) => {
                tracing::warn!(custom_id = %custom_id.escape_debug(), "refused a modal submission");
                view::bad_button(self.lang, &self.correlation)
            }
            Invalid::Reason(error) => view::invalid_reason(self.lang, *error),
            Invalid::Speed(raw) => Reply::text(crate::bot::i18n::t(
                self.lang,
                Msg::ScanSpeedUnknown,
                &[("speed", &safe_code(raw, 20))],
            )),
            Invalid::UnknownCommand => {
                return Ending::answer(Answer::Reply(view::plain(self.lang, Msg::UnknownCommand)))
            }
        };
        Ending::answer(Answer::Reply(reply)).counted(Counted::Invalid)
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

    /// `/wsc jobs`: everyone in the channel sees one status, unless asked privately. The newest
    /// list, while fresh, is the answer at once, saying how old it is; Refresh asks WSC again.
    async fn jobs(&self, page: u32, private: bool, filter: &JobFilter, shortened: bool) -> Ending {
        let lang = self.lang_for(!private);
        if page == 1 && filter.is_empty() {
            if let Some((age, jobs)) = self.core.cache.first_page(self.core.list_fresh_for) {
                let reply =
                    view::jobs_page(lang, &jobs, page, filter, shortened, self.core.demo).as_of(lang, age);
                return Ending::answer(Answer::Message { reply, private });
            }
        }
        if !self.defer(private).await {
            return Ending::unanswered();
        }
        match self.core.jobs_page(page, filter).await {
            Ok(jobs) => {
                let reply = view::jobs_page(lang, &jobs, page, filter, shortened, self.core.demo);
                Ending::answer(Answer::Edit(reply))
            }
            Err(error) => self.wsc_failed(lang, &error, Answer::Edit),
        }
    }

    /// ◀ ▶ and Refresh: the message the buttons are on is updated in place, filter kept; a
    /// public one stays in the guild's language.
    async fn page(&self, page: u32, filter: &JobFilter, public: bool) -> Ending {
        if !self.respond(CreateInteractionResponse::Acknowledge).await {
            return Ending::unanswered();
        }
        match self.core.jobs_page(page, filter).await {
            Ok(jobs) => {
                let reply =
                    view::jobs_page(self.lang_for(public), &jobs, page, filter, false, self.core.demo);
                Ending::answer(Answer::Edit(reply))
            }
            Err(error) => self.wsc_failed(self.lang, &error, Answer::FollowUp),
        }
    }

    /// `/wsc report` and the Report button: answered to the person who asked.
    async fn report(&self, instance: u64) -> Ending {
        if !self.defer(true).await {
            return Ending::unanswered();
        }
        let lang = self.lang;
        match self.core.wsc.report(instance).await {
            Ok(report) => {
                let mut reply = view::report(lang, instance, None, &report, self.core.demo);
                // A finished job may be rescanned, when scanning from chat is on; the click
                // checks that WSC offers it.
                if !self.core.scan_targets.is_empty() {
                    reply.components.push(view::rescan_row(lang, instance));
                }
                Ending::answer(Answer::Edit(reply))
            }
            // 901: expired, not finished or unknown; a fresh read says which.
            Err(error) if error.kind == ErrorKind::NotApplicable => {
                match self.core.wsc.find_job(instance).await {
                    Ok(job) => Ending::answer(Answer::Edit(view::no_report(lang, instance, job.as_ref()))),
                    Err(error) => self.wsc_failed(lang, &error, Answer::Edit),
                }
            }
            Err(error) => self.wsc_failed(lang, &error, Answer::Edit),
        }
    }

    /// `/wsc audit` and its ◀ ▶: a page of the trail from the store, only to the person asking.
    async fn audit(&self, page: u32, filter: AuditFilter, update: bool) -> Ending {
        let acknowledged = if update {
            self.respond(CreateInteractionResponse::Acknowledge).await
        } else {
            self.defer(true).await
        };
        if !acknowledged {
            return Ending::unanswered();
        }
        let per_page = view::PAGE_SIZE;
        let query = AuditQuery {
            instance: filter.instance,
            actor: filter.actor,
            offset: page.saturating_sub(1).saturating_mul(per_page),
            // One more than a page says whether there is an older one.
            limit: per_page + 1,
            ..AuditQuery::default()
        };
        match self.core.store.audit_trail(&query).await {
            Ok(records) => {
                let more = records.len() > per_page as usize;
                Ending::answer(Answer::Edit(view::audit_page(self.lang, &records, page, more, &filter)))
            }
            Err(error) => {
                self.core.store_failed("audit_trail", &error);
                Ending::answer(Answer::Edit(view::plain(self.lang, Msg::AuditUnavailable)))
            }
        }
    }

    /// Job numbers to pick from, only where the action applies, from the cache.
    async fn autocomplete(&self, wanted: Wanted, typed: &str) -> Ending {
        let action = match wanted {
            Wanted::Act(act) => act.job_action(),
            Wanted::Report => JobAction::Report,
        };
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
        Ending::answer(Answer::Choices(choices))
    }

    /// Cancel or Stop (command or button): show the job and ask to confirm.
    async fn ask(
        &self,
        act: Act,
        instance: u64,
        origin: Option<u64>,
        shown: Option<(u32, JobFilter)>,
        reason: Option<&str>,
    ) -> Ending {
        if !self.defer(true).await {
            return Ending::unanswered();
        }
        let (lang, demo) = (self.lang, self.core.demo);
        match self.core.wsc.find_job(instance).await {
            Err(error) => self.wsc_failed(lang, &error, Answer::Edit),
            Ok(None) => Ending::answer(Answer::Edit(view::no_such_job(lang, instance))),
            // The button was stale: the message it was on is brought up to date.
            Ok(Some(job)) if !job.state.allows(act.job_action()) => {
                Ending::answer(Answer::Edit(view::not_applicable(lang, &job, act, demo)))
                    .refresh(origin, shown)
            }
            Ok(Some(job)) => {
                Ending::answer(Answer::Edit(view::confirmation(lang, &job, act, origin, reason, demo)))
            }
        }
    }

    /// The confirmation's danger button: one confirm per job at a time, across replicas.
    async fn confirm(&self, attempt: Attempt, origin: Option<u64>) -> Ending {
        let Some(claim) = self.core.claim(attempt.instance, &self.correlation).await else {
            let reply = view::in_progress(self.lang, attempt.act);
            let audited = attempt.ended(None, Outcome::AlreadyInProgress, NcpRef::default());
            return Ending::answer(Answer::Update(reply)).audited(audited);
        };
        let ending = self.confirm_claimed(&attempt, origin).await;
        self.core.release(claim).await;
        ending
    }

    /// Re-read the job, then act once; a lost or late answer is judged by reading it again.
    async fn confirm_claimed(&self, attempt: &Attempt, origin: Option<u64>) -> Ending {
        let (lang, act, instance, demo) = (self.lang, attempt.act, attempt.instance, self.core.demo);
        let none = NcpRef::default;
        // Acknowledge, and take the buttons away so the same person cannot confirm twice.
        let working = view::working(lang, act);
        if !self.respond(CreateInteractionResponse::UpdateMessage(working.response(true))).await {
            return Ending::unanswered().audited(attempt.ended(None, Outcome::Unanswered, none()));
        }
        let job = match self.core.wsc.find_job(instance).await {
            Ok(Some(job)) => job,
            Ok(None) => {
                let reply = view::no_such_job(lang, instance);
                return Ending::answer(Answer::Edit(reply)).audited(attempt.ended(
                    None,
                    Outcome::NotFound,
                    none(),
                ));
            }
            Err(error) => {
                let audited = attempt.ended(None, Outcome::Failed(error.kind), NcpRef::from(&error));
                return self.wsc_failed(lang, &error, Answer::Edit).audited(audited);
            }
        };
        if !job.state.allows(act.job_action()) {
            let reply = view::not_applicable(lang, &job, act, demo);
            let audited = attempt.ended(Some(&job), Outcome::NotApplicable, none());
            return Ending::answer(Answer::Edit(reply)).audited(audited).refresh(origin, None);
        }
        // Before the call: if the process dies during it, the trail still says who asked.
        let attempted = attempt.ended(Some(&job), Outcome::Attempted, none());
        self.core.record(self.discord, &self.event(&attempted)).await;
        let result = match act {
            Act::Stop => self.core.wsc.stop_job(instance).await,
            Act::Cancel => self.core.wsc.cancel_job(instance).await,
            // `run` sends scans to their own flow before this.
            Act::Scan => return self.invalid(Invalid::UnknownCommand),
        };
        self.core.cache.invalidate();
        let public = view::public_outcome(
            self.incoming.team_lang(),
            attempt.actor_id,
            act,
            &job,
            attempt.reason.as_deref(),
        );
        let ending = match result {
            Ok(info) => {
                let ncp = NcpRef { code: None, request_id: info.request_id };
                Ending::answer(Answer::Edit(view::done_privately(lang, act, &job)))
                    .team(public)
                    .audited(attempt.ended(Some(&job), Outcome::Done, ncp))
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
                let ending = match (outcome, moved_on) {
                    (Outcome::Unconfirmed, Some(now)) => {
                        Ending::answer(Answer::Edit(view::unconfirmed(lang, &now, demo))).team(public)
                    }
                    (Outcome::NotApplicable, Some(now)) => {
                        Ending::answer(Answer::Edit(view::not_applicable(lang, &now, act, demo)))
                    }
                    _ => self.wsc_failed(lang, &error, Answer::Edit),
                };
                ending.audited(attempt.ended(Some(&job), outcome, NcpRef::from(&error)))
            }
            Err(error) => {
                let audited = attempt.ended(Some(&job), Outcome::Failed(error.kind), NcpRef::from(&error));
                return self.wsc_failed(lang, &error, Answer::Edit).audited(audited);
            }
        };
        ending.refresh(origin, None)
    }

    /// The scan confirmation for `url` (already checked against the targets), its request kept in
    /// the store under a new id. The memo says who asked, from chat, and the request's id: the
    /// console shows it, and it finds the job when WSC's answer does not name it.
    async fn ask_scan(
        &self,
        actor: &Actor,
        url: &str,
        memo: &str,
        speed: ScanSpeed,
        master: Option<&Job>,
    ) -> Reply {
        let id = super::action::new_pending_id();
        let theirs = truncate(&one_line(memo), 100);
        let mut memo = format!("wsc-bot: started from Discord by @{} ({}) [{id}]", actor.name, actor.id);
        if !theirs.trim().is_empty() {
            memo = format!("{} · {memo}", theirs.trim());
        }
        let job = NewJob {
            start_url: url.to_owned(),
            speed,
            memo,
            master_instance_no: master.map(|job| job.instance_no),
        };
        let payload = serde_json::to_string(&job).unwrap_or_default();
        if let Err(error) = self.core.store.put_pending(&id, PENDING_SCAN, &payload, PENDING_TTL).await {
            self.core.store_failed("put_pending", &error);
            return view::plain(self.lang, Msg::PendingStoreDown);
        }
        view::scan_confirmation(self.lang, &job, &id, master, self.core.demo)
    }

    /// Rescan: the job must be finished with a rescan on offer, and its URL a listed target.
    async fn ask_rescan(&self, actor: &Actor, instance: u64) -> Ending {
        if self.core.scan_targets.is_empty() {
            return Ending::answer(Answer::Reply(view::plain(self.lang, Msg::ScanOff)));
        }
        if !self.defer(true).await {
            return Ending::unanswered();
        }
        let (lang, demo) = (self.lang, self.core.demo);
        let reply = match self.core.wsc.find_job(instance).await {
            Err(error) => return self.wsc_failed(lang, &error, Answer::Edit),
            Ok(None) => view::no_such_job(lang, instance),
            Ok(Some(job)) if !rescan_possible(&job) => view::not_applicable(lang, &job, Act::Scan, demo),
            Ok(Some(job)) => match self.core.scan_targets.check(&job.start_url) {
                Err(refusal) => view::scan_refused(lang, &job.start_url, &refusal),
                Ok(url) => {
                    let memo = format!("rescan of {instance}");
                    self.ask_scan(actor, url.as_str(), &memo, ScanSpeed::default(), Some(&job)).await
                }
            },
        };
        Ending::answer(Answer::Edit(reply))
    }

    /// The scan confirmation's button: the request is taken from the store once (of two confirms
    /// at once, one gets it), and createJob is called once, never again; when its answer is lost
    /// or does not name the job, the job is looked for before anything is said.
    async fn confirm_scan(&self, attempt: Attempt, id: &str) -> Ending {
        let lang = self.lang;
        let job: NewJob = match self.core.store.take_pending(id, PENDING_SCAN).await {
            Err(error) => {
                self.core.store_failed("take_pending", &error);
                return Ending::answer(Answer::Update(view::plain(lang, Msg::PendingStoreDown)));
            }
            Ok(payload) => match payload.and_then(|p| serde_json::from_str(&p).ok()) {
                Some(job) => job,
                None => return Ending::answer(Answer::Update(view::plain(lang, Msg::PendingExpired))),
            },
        };
        let attempt = Attempt { instance: job.master_instance_no.unwrap_or(0), ..attempt };
        let none = NcpRef::default;
        let target = || Some(job.start_url.clone());
        // The targets may have changed since the confirmation was shown (another replica).
        if let Err(refusal) = self.core.scan_targets.check(&job.start_url) {
            let reply = view::scan_refused(lang, &job.start_url, &refusal);
            return Ending::answer(Answer::Update(reply)).audited(attempt.ended_at(
                target(),
                Outcome::Denied,
                none(),
            ));
        }
        let working = view::working(lang, Act::Scan);
        if !self.respond(CreateInteractionResponse::UpdateMessage(working.response(true))).await {
            return Ending::unanswered().audited(attempt.ended_at(target(), Outcome::Unanswered, none()));
        }
        self.core
            .record(self.discord, &self.event(&attempt.ended_at(target(), Outcome::Attempted, none())))
            .await;
        let result = self.core.wsc.create_job(&job).await;
        self.core.cache.invalidate();
        let (found, outcome, ncp) = match result {
            Ok((number, info)) => {
                let ncp = NcpRef { code: None, request_id: info.request_id };
                let found = match number {
                    Some(number) => self.core.wsc.find_job(number).await.ok().flatten(),
                    None => None,
                };
                let found = match found {
                    Some(job) => Some(job),
                    None => self.core.wsc.find_created(&job).await.ok().flatten(),
                };
                (found, Outcome::Done, ncp)
            }
            Err(error) if error.kind.outcome_unknown() => {
                let found = self.core.wsc.find_created(&job).await.ok().flatten();
                let outcome =
                    if found.is_some() { Outcome::Unconfirmed } else { Outcome::Failed(error.kind) };
                (found, outcome, NcpRef::from(&error))
            }
            Err(error) => {
                let audited = attempt.ended_at(target(), Outcome::Failed(error.kind), NcpRef::from(&error));
                let ending = match (error.kind, error.code.as_deref()) {
                    (ErrorKind::Rejected, Some(code)) if code.starts_with("1603") => {
                        let text = crate::bot::i18n::t(lang, Msg::ScanRefusedByWsc, &[("code", code)]);
                        Ending::answer(Answer::Edit(Reply::text(text))).counted(Counted::WscError)
                    }
                    _ => self.wsc_failed(lang, &error, Answer::Edit),
                };
                return ending.audited(audited);
            }
        };
        let team = self.incoming.team_lang();
        match (found, outcome) {
            (Some(created), outcome) => {
                let audited = Audited {
                    attempt: Attempt { instance: created.instance_no, ..attempt },
                    target_url: target(),
                    outcome,
                    ncp,
                };
                let private = match outcome {
                    Outcome::Unconfirmed => view::unconfirmed(lang, &created, self.core.demo),
                    _ => view::done_privately(lang, Act::Scan, &created),
                };
                let public =
                    view::scan_started(team, audited.attempt.actor_id, &created, job.speed, self.core.demo);
                self.remember_starter(created.instance_no, audited.attempt.actor_id).await;
                Ending::answer(Answer::Edit(private)).team(public).audited(audited)
            }
            // WSC took it but does not list it yet: said so, to the team too (it is billed).
            (None, Outcome::Done) => {
                let url = safe_code(&job.start_url, 300);
                let text = crate::bot::i18n::t(team, Msg::ScanNotListedYet, &[("url", &url)]);
                let private = crate::bot::i18n::t(lang, Msg::ScanNotListedYet, &[("url", &url)]);
                Ending::answer(Answer::Edit(Reply::text(private)))
                    .team(Reply::text(text))
                    .audited(attempt.ended_at(target(), Outcome::Done, ncp))
            }
            (None, outcome) => Ending::answer(Answer::Edit(view::plain(lang, Msg::ScanOutcomeUnknown)))
                .counted(Counted::WscError)
                .audited(attempt.ended_at(target(), outcome, ncp)),
        }
    }

    /// Remembers who started job `instance`, for the direct message when it ends (a store that
    /// is down only costs that message).
    async fn remember_starter(&self, instance: u64, actor_id: u64) {
        let (id, starter) = (instance.to_string(), actor_id.to_string());
        let kept =
            self.core.store.put_pending(&id, super::SCAN_STARTER, &starter, super::SCAN_STARTER_TTL).await;
        if let Err(error) = kept {
            self.core.store_failed("put_pending", &error);
        }
    }

    /// The running jobs whose URL contains `keyword` (every running job when it is empty),
    /// newest first: a few pages of a search, as WSC has no filter for "running".
    async fn running_jobs(&self, keyword: &str) -> Result<Vec<(u64, String)>, WscError> {
        let mut running = Vec::new();
        for page in 1..=RUNNING_PAGES {
            let query = SearchQuery {
                field: if keyword.trim().is_empty() { SearchField::Any } else { SearchField::Url },
                keyword: keyword.trim().to_owned(),
                status_code: None,
                page,
                limit: RUNNING_PAGE_SIZE,
            };
            let found = self.core.wsc.search_jobs(&query).await?;
            running.extend(
                found
                    .jobs
                    .into_iter()
                    .filter(|job| job.state.allows(JobAction::Stop))
                    .map(|job| (job.instance_no, job.start_url)),
            );
            if u64::from(page) >= found.total_pages {
                break;
            }
        }
        Ok(running)
    }

    /// `/wsc stop-all`: every running job listed, kept in the store, one button to stop them.
    async fn ask_stop_all(&self, keyword: &str) -> Ending {
        if !self.defer(true).await {
            return Ending::unanswered();
        }
        let lang = self.lang;
        let running = match self.running_jobs(keyword).await {
            Ok(running) => running,
            Err(error) => return self.wsc_failed(lang, &error, Answer::Edit),
        };
        if running.is_empty() {
            return Ending::answer(Answer::Edit(view::nothing_running(lang, keyword)));
        }
        let id = super::action::new_pending_id();
        let payload = serde_json::json!({"keyword": keyword.trim(), "jobs": running}).to_string();
        if let Err(error) = self.core.store.put_pending(&id, PENDING_STOP_ALL, &payload, PENDING_TTL).await {
            self.core.store_failed("put_pending", &error);
            return Ending::answer(Answer::Edit(view::plain(lang, Msg::PendingStoreDown)));
        }
        Ending::answer(Answer::Edit(view::stop_all_confirmation(lang, &running, keyword.trim(), &id)))
    }

    /// The stop-all button: each listed job still running is stopped once, a few at a time, under
    /// its claim; jobs that started since the list was shown are not in it, so not touched.
    async fn confirm_stop_all(&self, actor: &Actor, matched_role: Option<u64>, id: &str) -> Ending {
        let lang = self.lang;
        #[derive(serde::Deserialize)]
        struct Listed {
            keyword: String,
            jobs: Vec<(u64, String)>,
        }
        let listed: Listed = match self.core.store.take_pending(id, PENDING_STOP_ALL).await {
            Err(error) => {
                self.core.store_failed("take_pending", &error);
                return Ending::answer(Answer::Update(view::plain(lang, Msg::PendingStoreDown)));
            }
            Ok(payload) => match payload.and_then(|p| serde_json::from_str(&p).ok()) {
                Some(listed) => listed,
                None => return Ending::answer(Answer::Update(view::plain(lang, Msg::PendingExpired))),
            },
        };
        let working = view::stop_all_working(lang, listed.jobs.len());
        if !self.respond(CreateInteractionResponse::UpdateMessage(working.response(true))).await {
            return Ending::unanswered();
        }
        // One fresh read says which are still running; without it, each stop is tried and WSC
        // refuses those that ended (a store or read outage never blocks a stop).
        let still_running: Option<std::collections::HashSet<u64>> =
            self.running_jobs("").await.ok().map(|jobs| jobs.into_iter().map(|(id, _)| id).collect());
        let results: Vec<(StopAllResult, Audited)> = futures_util::stream::iter(listed.jobs)
            .map(|(instance, url)| {
                let attempt = Attempt::new(actor, matched_role, Act::Stop, instance, None);
                let running = still_running.as_ref().is_none_or(|ids| ids.contains(&instance));
                async move { self.stop_one(attempt, url, running).await }
            })
            .buffer_unordered(STOP_ALL_AT_ONCE)
            .collect()
            .await;
        let mut summary = view::StopAllSummary::default();
        let mut ending = Ending::default();
        for (result, audited) in results {
            let job = (audited.attempt.instance, audited.target_url.clone().unwrap_or_default());
            match result {
                StopAllResult::Stopped => summary.stopped.push(job),
                StopAllResult::Finished => summary.finished.push(job),
                StopAllResult::Busy => summary.busy.push(job),
                StopAllResult::Failed => summary.failed.push(job),
            }
            ending = ending.audited(audited);
        }
        for list in [&mut summary.stopped, &mut summary.finished, &mut summary.busy, &mut summary.failed] {
            list.sort();
        }
        let public = summary.public(self.incoming.team_lang(), actor.id, &listed.keyword, &self.correlation);
        Ending { answer: Some(Answer::Edit(summary.private(lang))), team: Some(public), ..ending }
    }

    /// One job of a stop-all. A stopped job's claim is kept until it expires: a second stop-all
    /// confirmed at the same moment then leaves it alone instead of stopping it twice.
    async fn stop_one(&self, attempt: Attempt, url: String, running: bool) -> (StopAllResult, Audited) {
        let instance = attempt.instance;
        let ended =
            |outcome, ncp| Audited { attempt: attempt.clone(), target_url: Some(url.clone()), outcome, ncp };
        if !running {
            return (StopAllResult::Finished, ended(Outcome::NotApplicable, NcpRef::default()));
        }
        let Some(claim) = self.core.claim(instance, &self.correlation_for(instance)).await else {
            return (StopAllResult::Busy, ended(Outcome::AlreadyInProgress, NcpRef::default()));
        };
        self.core.record(self.discord, &self.event(&ended(Outcome::Attempted, NcpRef::default()))).await;
        let result = self.core.wsc.stop_job(instance).await;
        self.core.cache.invalidate();
        let (result, outcome, ncp) = match result {
            Ok(info) => {
                (StopAllResult::Stopped, Outcome::Done, NcpRef { code: None, request_id: info.request_id })
            }
            Err(error) if error.kind == ErrorKind::NotApplicable => {
                (StopAllResult::Finished, Outcome::NotApplicable, NcpRef::from(&error))
            }
            Err(error) if error.kind.outcome_unknown() => {
                let now = self.core.wsc.find_job(instance).await.ok().flatten();
                match now.filter(|job| !job.state.allows(JobAction::Stop)) {
                    Some(_) => (StopAllResult::Stopped, Outcome::Unconfirmed, NcpRef::from(&error)),
                    None => (StopAllResult::Failed, Outcome::Failed(error.kind), NcpRef::from(&error)),
                }
            }
            Err(error) => (StopAllResult::Failed, Outcome::Failed(error.kind), NcpRef::from(&error)),
        };
        if matches!(result, StopAllResult::Failed) {
            self.core.release(claim).await;
        } else {
            self.core.keep(claim);
        }
        (result, ended(outcome, ncp))
    }

    /// A claim holder per job of this interaction: its correlation id and the job.
    fn correlation_for(&self, instance: u64) -> String {
        format!("{}-{instance}", self.correlation)
    }

    /// The sender's sentence for a WSC error, in `lang` (the guild's, when it goes into a public
    /// message); the details are logged under the same reference.
    fn wsc_failed(&self, lang: Lang, error: &WscError, answer: fn(Reply) -> Answer) -> Ending {
        tracing::warn!(
            correlation = %self.correlation,
            kind = error.kind.name(),
            code = error.code.as_deref(),
            request_id = error.request_id.as_deref(),
            detail = %error.detail,
            "told the user a WSC call failed"
        );
        let reply = view::wsc_failure(lang, error.kind, &self.correlation);
        Ending::answer(answer(reply)).counted(Counted::WscError)
    }

    /// Applies `ending`: the person's answer first, then the team's message, the refresh and
    /// the audit event. Returns how the interaction counts.
    async fn finish(&self, ending: Ending) -> Counted {
        let mut counted = ending.counted;
        if let Some(answer) = ending.answer {
            if !self.give(answer).await {
                counted = Counted::Unanswered;
            }
        }
        if let Some(team) = ending.team {
            self.follow_up(team, false).await;
        }
        if let Some((message_id, shown)) = ending.refresh {
            self.refresh(message_id, shown).await;
        }
        for audited in &ending.audit {
            self.core.record(self.discord, &self.event(audited)).await;
        }
        counted
    }

    fn event(&self, audited: &Audited) -> AuditEvent {
        let attempt = &audited.attempt;
        AuditEvent {
            at_ms: super::ports::now_ms(),
            correlation: self.correlation.clone(),
            interaction: self.incoming.id,
            actor_id: attempt.actor_id,
            actor_name: attempt.actor_name.clone(),
            matched_role: attempt.matched_role,
            act: attempt.act,
            instance: attempt.instance,
            target_url: audited.target_url.clone(),
            outcome: audited.outcome,
            wsc_code: audited.ncp.code.clone(),
            request_id: audited.ncp.request_id.clone(),
            latency_ms: attempt.started.elapsed().as_millis() as u64,
            reason: attempt.reason.clone(),
        }
    }

    /// `false` when Discord did not take a first answer.
    async fn give(&self, answer: Answer) -> bool {
        match answer {
            Answer::Reply(reply) => {
                self.respond(CreateInteractionResponse::Message(reply.response(true))).await
            }
            Answer::Message { reply, private } => {
                self.respond(CreateInteractionResponse::Message(reply.response(private))).await
            }
            Answer::Update(reply) => {
                self.respond(CreateInteractionResponse::UpdateMessage(reply.response(true))).await
            }
            Answer::Choices(choices) => {
                let response =
                    choices.into_iter().fold(CreateAutocompleteResponse::new(), |response, (name, value)| {
                        response.add_string_choice(name, value)
                    });
                self.respond(CreateInteractionResponse::Autocomplete(response)).await
            }
            Answer::Edit(reply) => {
                let token = self.incoming.token.as_str();
                let _ = with_retries("the edit of the response", TRIES, || {
                    self.discord.edit_original(token, reply.clone().edit())
                })
                .await;
                true
            }
            Answer::FollowUp(reply) => {
                self.follow_up(reply, true).await;
                true
            }
        }
    }

    /// A follow-up message; the team's is a stop nobody may miss, so every message is tried
    /// again when Discord's refusal allows it.
    async fn follow_up(&self, reply: Reply, ephemeral: bool) {
        let token = self.incoming.token.as_str();
        let _ = with_retries("a follow-up message", TRIES, || {
            self.discord.follow_up(token, reply.clone().follow_up(ephemeral))
        })
        .await;
    }

    /// Brings a public jobs message up to date; a failure here is only logged.
    async fn refresh(&self, message_id: u64, shown: Option<(u32, JobFilter)>) {
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
                let view =
                    view::jobs_page(self.incoming.team_lang(), &jobs, page, &filter, false, self.core.demo);
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

    async fn defer(&self, ephemeral: bool) -> bool {
        let message = CreateInteractionResponseMessage::new().ephemeral(ephemeral);
        self.respond(CreateInteractionResponse::Defer(message)).await
    }

    /// The first answer; `false` when Discord did not take it (the interaction is then dead).
    /// Never tried again: a second callback would be refused, and the 3 seconds run out.
    async fn respond(&self, response: CreateInteractionResponse) -> bool {
        match self.discord.respond(self.incoming.id, self.incoming.token.as_str(), response).await {
            Ok(()) => {
                self.core.metrics.acknowledged(self.received.elapsed());
                true
            }
            Err(error) => {
                tracing::warn!(status = error.status, code = error.code, %error, "could not answer the interaction");
                false
            }
        }
    }
}
