//! What people see: embeds, buttons and sentences, always within Discord's limits.

use serenity::all::{
    ButtonStyle, CreateActionRow, CreateAllowedMentions, CreateButton, CreateEmbed, CreateEmbedFooter,
    CreateInputText, CreateInteractionResponseFollowup, CreateInteractionResponseMessage, CreateMessage,
    CreateModal, EditInteractionResponse, EditMessage, InputTextStyle, Message, ReactionType,
};

use super::action::{
    Act, AuditFilter, ButtonId, FilterError, InstanceIdError, JobFilter, ReasonError, MAX_PAGE,
    MAX_REASON_CHARS, REASON_FIELD,
};
use super::i18n::{t, Lang, Msg};
use super::ports::AuditRecord;
use super::targets::{UrlRefusal, MAX_URL_CHARS};
use super::text::{code, escape, host, safe, safe_code, truncate, unescape};
use crate::wsc::model::STATUS_CODES;
use crate::wsc::{ErrorKind, Job, JobAction, JobPage, JobState, NewJob, Report, ScanSpeed, SearchField};

/// A footer; in demo mode (`demo`) it says WSC is simulated, on every embed.
fn footer(text: String, demo: bool) -> CreateEmbedFooter {
    if demo {
        CreateEmbedFooter::new(format!("{text} · DEMO: simulated WSC, not NAVER Cloud"))
    } else {
        CreateEmbedFooter::new(text)
    }
}

/// Jobs per page: five embeds stay readable on a phone and their buttons fit one row.
pub const PAGE_SIZE: u32 = 5;

/// A message's content, embeds and buttons, ready to become any of Discord's payloads.
/// Every payload is sent with mentions that ping nobody.
#[derive(Debug, Clone, Default)]
pub struct Reply {
    pub content: String,
    pub embeds: Vec<CreateEmbed>,
    pub components: Vec<CreateActionRow>,
}

fn no_pings() -> CreateAllowedMentions {
    CreateAllowedMentions::new()
}

impl Reply {
    pub fn text(content: impl Into<String>) -> Self {
        Self { content: truncate(&content.into(), 2000), ..Self::default() }
    }

    pub fn response(self, ephemeral: bool) -> CreateInteractionResponseMessage {
        CreateInteractionResponseMessage::new()
            .content(self.content)
            .embeds(self.embeds)
            .components(self.components)
            .allowed_mentions(no_pings())
            .ephemeral(ephemeral)
    }

    /// A list that did not come from WSC just now says how old it is.
    pub fn as_of(mut self, lang: Lang, age: std::time::Duration) -> Self {
        let seconds = age.as_secs();
        let line = if seconds < 120 {
            t(lang, Msg::AsOfSeconds, &[("n", &seconds.to_string())])
        } else {
            t(lang, Msg::AsOfMinutes, &[("n", &(seconds / 60).to_string())])
        };
        self.content = truncate(&format!("{}\n-# {line}", self.content), 2000);
        self
    }

    pub fn edit(self) -> EditInteractionResponse {
        EditInteractionResponse::new()
            .content(self.content)
            .embeds(self.embeds)
            .components(self.components)
            .allowed_mentions(no_pings())
    }

    pub fn edit_message(self) -> EditMessage {
        EditMessage::new()
            .content(self.content)
            .embeds(self.embeds)
            .components(self.components)
            .allowed_mentions(no_pings())
    }

    pub fn follow_up(self, ephemeral: bool) -> CreateInteractionResponseFollowup {
        CreateInteractionResponseFollowup::new()
            .content(self.content)
            .embeds(self.embeds)
            .components(self.components)
            .allowed_mentions(no_pings())
            .ephemeral(ephemeral)
    }

    pub fn message(self) -> CreateMessage {
        CreateMessage::new()
            .content(self.content)
            .embeds(self.embeds)
            .components(self.components)
            .allowed_mentions(no_pings())
    }
}

/// The page shown and the last page, both within what a button can carry (1 to `MAX_PAGE`)
/// whatever WSC says: the one place where its page count (`"1e20"` reads as `u64::MAX`) is tamed.
fn page_span(page: &JobPage, current: u32) -> (u32, u32) {
    let last = u32::try_from(page.total_pages.clamp(1, u64::from(MAX_PAGE))).unwrap_or(MAX_PAGE);
    (current.clamp(1, MAX_PAGE), last)
}

/// The jobs view: one embed per job, action buttons only where they apply, paging that keeps
/// the filter.
pub fn jobs_page(
    lang: Lang,
    page: &JobPage,
    current: u32,
    filter: &JobFilter,
    shortened: bool,
    demo: bool,
) -> Reply {
    let (current, last) = page_span(page, current);
    let mut lines = Vec::new();
    if !filter.is_empty() {
        lines.push(t(lang, Msg::FilterLine, &[("filter", &filter_text(lang, filter))]));
        if shortened {
            let n = filter.keyword.chars().count().to_string();
            lines.push(t(lang, Msg::KeywordShortened, &[("n", &n)]));
        }
    }
    if page.jobs.is_empty() {
        let (page_text, last_text) = (current.to_string(), last.to_string());
        let empty = match (current > 1 && page.total > 0, filter.is_empty()) {
            (true, _) => t(lang, Msg::PastLastPage, &[("page", &page_text), ("last", &last_text)]),
            (false, true) => t(lang, Msg::NoJobs, &[]),
            (false, false) => t(lang, Msg::NoMatches, &[]),
        };
        lines.insert(0, empty);
        let mut reply = Reply::text(lines.join("\n"));
        reply.components = vec![navigation(lang, current.min(last + 1), last, filter)];
        return reply;
    }
    let count = t(lang, Msg::JobCount, &[("n", &page.total.to_string())]);
    let title = if last > 1 {
        t(
            lang,
            Msg::JobsPaged,
            &[("page", &current.to_string()), ("last", &last.to_string()), ("count", &count)],
        )
    } else {
        t(lang, Msg::JobsSingle, &[("count", &count)])
    };
    lines.insert(0, title);
    let jobs = &page.jobs[..page.jobs.len().min(PAGE_SIZE as usize)];
    let mut buttons: Vec<CreateButton> = jobs.iter().filter_map(|job| action_button(lang, job)).collect();
    let mut components = Vec::new();
    while !buttons.is_empty() {
        let rest = buttons.split_off(buttons.len().min(5));
        components.push(CreateActionRow::Buttons(std::mem::replace(&mut buttons, rest)));
    }
    components.truncate(4);
    components.push(navigation(lang, current, last, filter));
    Reply {
        content: truncate(&lines.join("\n"), 2000),
        embeds: jobs.iter().map(|job| job_embed(lang, job, demo)).collect(),
        components,
    }
}

fn filter_text(lang: Lang, filter: &JobFilter) -> String {
    let mut parts = Vec::new();
    if !filter.keyword.is_empty() {
        let msg = match filter.field {
            SearchField::Url => Msg::FilterUrl,
            SearchField::Memo => Msg::FilterMemo,
            SearchField::Any => Msg::FilterAny,
        };
        parts.push(t(lang, msg, &[("keyword", &safe_code(&filter.keyword, 90))]));
    }
    if let Some(code) = filter.status {
        parts.push(t(lang, Msg::FilterStatus, &[("status", &status_label(lang, code))]));
    }
    parts.join(" · ")
}

/// A searchJobs status code with its label in `lang`.
pub fn status_label(lang: Lang, code: u16) -> String {
    let label = STATUS_CODES.iter().find(|(c, _, _)| *c == code).map(|(_, ko, en)| match lang {
        Lang::Ko => *ko,
        Lang::En => *en,
    });
    format!("{} ({code})", label.unwrap_or("?"))
}

fn navigation(lang: Lang, current: u32, last: u32, filter: &JobFilter) -> CreateActionRow {
    let button = |id: ButtonId, msg: Msg| {
        CreateButton::new(id.to_string()).label(t(lang, msg, &[])).style(ButtonStyle::Secondary)
    };
    let mut row = Vec::new();
    if current > 1 {
        row.push(button(ButtonId::Page { page: current - 1, filter: filter.clone() }, Msg::Newer));
    }
    row.push(
        button(ButtonId::Refresh { page: current, filter: filter.clone() }, Msg::Refresh)
            .emoji(ReactionType::Unicode("🔄".into())),
    );
    if current < last {
        row.push(button(ButtonId::Page { page: current + 1, filter: filter.clone() }, Msg::Older));
    }
    CreateActionRow::Buttons(row)
}

/// Cancel on jobs not started, Stop on running jobs, Report on finished ones, nothing otherwise.
pub fn action_button(lang: Lang, job: &Job) -> Option<CreateButton> {
    let instance = job.instance_no;
    let (id, msg, emoji, style) = if job.state.allows(JobAction::Stop) {
        (ButtonId::Ask { act: Act::Stop, instance }, Msg::StopButton, "⏹️", ButtonStyle::Danger)
    } else if job.state.allows(JobAction::Cancel) {
        (ButtonId::Ask { act: Act::Cancel, instance }, Msg::CancelButton, "✖️", ButtonStyle::Danger)
    } else if job.state.allows(JobAction::Report) {
        (ButtonId::Report { instance }, Msg::ReportButton, "📄", ButtonStyle::Primary)
    } else {
        return None;
    };
    let label = t(lang, msg, &[("host", &host(&job.start_url))]);
    Some(
        CreateButton::new(id.to_string())
            .label(truncate(&label, 80))
            .emoji(ReactionType::Unicode(emoji.into()))
            .style(style),
    )
}

/// One job: URL as title, colour by state, short inline fields. At most about 1,100
/// characters, so five fit in Discord's 6,000 per message.
pub fn job_embed(lang: Lang, job: &Job, demo: bool) -> CreateEmbed {
    let label = status_text(&job.status_label);
    let mut fields = vec![
        (Msg::FieldStatus, format!("{label}\n*{}*", state_name(lang, &job.state)), true),
        (Msg::FieldProgress, job.progress.map(progress_bar).unwrap_or_else(|| "—".into()), true),
        (Msg::FieldStarted, kst(job.start_date.as_deref()), true),
        (Msg::FieldEnded, kst(job.end_date.as_deref()), true),
        (Msg::FieldCrawled, count(job.crawl_count), true),
        (Msg::FieldVulnerabilities, count(job.scan_count), true),
    ];
    if let Some(memo) = job.memo.as_deref().filter(|m| !m.trim().is_empty()) {
        fields.push((Msg::FieldMemo, safe(memo, 200), false));
    }
    let title = if job.start_url.trim().is_empty() {
        t(lang, Msg::NoTargetUrl, &[])
    } else {
        truncate(&escape(&job.start_url), 200)
    };
    let mut embed = CreateEmbed::new()
        .title(title)
        .colour(state_colour(&job.state))
        .fields(fields.into_iter().map(|(name, value, inline)| (t(lang, name, &[]), value, inline)))
        .footer(footer(t(lang, Msg::JobFooter, &[("id", &job.instance_no.to_string())]), demo));
    if let Some(reason) = job.result_desc.as_deref().filter(|_| job.state == JobState::Failed) {
        embed = embed.description(t(lang, Msg::WhyFailed, &[("reason", &safe(reason, 300))]));
    }
    embed
}

fn status_text(label: &str) -> String {
    if label.trim().is_empty() {
        "—".to_owned()
    } else {
        safe(label, 60)
    }
}

/// The bot's reading of a job's state, escaped (an unknown `result_button` is shown as it came).
pub fn state_name(lang: Lang, state: &JobState) -> String {
    let msg = match state {
        JobState::NotStarted => Msg::StateNotStarted,
        JobState::Running => Msg::StateRunning,
        JobState::Finished => Msg::StateFinished,
        JobState::Failed => Msg::StateFailed,
        JobState::Expired => Msg::StateExpired,
        JobState::NoAction => Msg::StateEnded,
        JobState::Unknown(raw) => return safe(raw, 40),
    };
    t(lang, msg, &[])
}

pub fn state_colour(state: &JobState) -> u32 {
    match state {
        JobState::NotStarted => 0x5865F2,
        JobState::Running => 0xF0B232,
        JobState::Finished => 0x23A55A,
        JobState::Failed => 0xDA373C,
        JobState::Expired | JobState::NoAction | JobState::Unknown(_) => 0x80848E,
    }
}

fn progress_bar(percent: u8) -> String {
    let filled = usize::from(percent.min(100)) / 10;
    format!("{}{} {percent}%", "▰".repeat(filled), "▱".repeat(10 - filled))
}

fn count(value: Option<u64>) -> String {
    value.map_or_else(|| "—".to_owned(), |n| n.to_string())
}

/// WSC's times are KST already (`YYYY-MM-DD hh:mm:ss`, reports `YYYY/MM/DD`): shown to the
/// minute, zone named.
pub fn kst(value: Option<&str>) -> String {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        Some(time) if time.len() >= 16 && time.is_char_boundary(16) => {
            format!("{} KST", safe(&time[..16], 40))
        }
        Some(time) => format!("{} KST", safe(time, 40)),
        None => "—".to_owned(),
    }
}

/// One page of the audit trail for the person who asked: newest first, one embed per event,
/// ◀ ▶ when there are newer or older ones. Every text in it came from people or WSC: escaped.
pub fn audit_page(lang: Lang, records: &[AuditRecord], page: u32, more: bool, filter: &AuditFilter) -> Reply {
    let mut about = Vec::new();
    if let Some(instance) = filter.instance {
        about.push(t(lang, Msg::AuditOfJob, &[("id", &instance.to_string())]));
    }
    if let Some(actor) = filter.actor {
        about.push(t(lang, Msg::AuditOfMember, &[("member", &actor.to_string())]));
    }
    let mut content = t(lang, Msg::AuditTitle, &[("page", &page.to_string())]);
    if !about.is_empty() {
        content = format!("{content} · {}", about.join(" · "));
    }
    if records.is_empty() {
        content = format!("{content}\n{}", t(lang, Msg::AuditEmpty, &[]));
    }
    let embeds = records.iter().take(PAGE_SIZE as usize).map(|record| audit_embed(lang, record)).collect();
    let button = |page: u32, msg: Msg| {
        CreateButton::new(ButtonId::Audit { page, filter: *filter }.to_string())
            .label(t(lang, msg, &[]))
            .style(ButtonStyle::Secondary)
    };
    let mut row = Vec::new();
    if page > 1 {
        row.push(button(page - 1, Msg::Newer));
    }
    if more && page < MAX_PAGE {
        row.push(button(page + 1, Msg::Older));
    }
    let components = if row.is_empty() { Vec::new() } else { vec![CreateActionRow::Buttons(row)] };
    Reply { content, embeds, components }
}

/// One audit event: what, how it ended, on which job; who and when (Discord shows the time in
/// the reader's zone); the target, the reason and the reference. At most about 1,100 characters.
fn audit_embed(lang: Lang, record: &AuditRecord) -> CreateEmbed {
    let title = t(
        lang,
        Msg::AuditEntry,
        &[
            ("action", &safe(&record.action, 20)),
            ("outcome", &safe(&record.outcome, 40)),
            ("id", &record.instance.to_string()),
        ],
    );
    let when = format!("<t:{}:f>", record.at_ms.div_euclid(1000));
    let mut lines = vec![t(
        lang,
        Msg::AuditBy,
        &[("when", &when), ("actor", &record.actor_id.to_string()), ("name", &safe(&record.actor_name, 40))],
    )];
    if let Some(url) = record.target_url.as_deref() {
        lines.push(safe_code(url, 200));
    }
    if let Some(reason) = record.reason.as_deref() {
        lines.push(t(lang, Msg::PublicReason, &[("reason", &safe(reason, 600))]));
    }
    let reference = truncate(&super::text::one_line(&record.correlation).replace('`', "ˋ"), 40);
    lines.push(t(lang, Msg::Reference, &[("ref", &reference)]));
    CreateEmbed::new()
        .title(truncate(&title, 256))
        .description(lines.join("\n"))
        .colour(outcome_colour(&record.outcome))
}

fn outcome_colour(outcome: &str) -> u32 {
    match outcome {
        "done" => 0x23A55A,
        "attempted" | "unconfirmed" => 0xF0B232,
        "denied" | "not_applicable" | "not_found" | "already_in_progress" | "abandoned" => 0x80848E,
        _ => 0xDA373C,
    }
}

/// The ephemeral question before a destructive action, with the target in view: one tap acts
/// (with the reason given with the command, shown in a field the click reads back), or opens
/// the reason modal.
pub fn confirmation(
    lang: Lang,
    job: &Job,
    act: Act,
    origin: Option<u64>,
    reason: Option<&str>,
    demo: bool,
) -> Reply {
    let (question, yes, with_reason, no) = match act {
        Act::Stop => {
            (Msg::ConfirmStop, Msg::ConfirmStopYes, Some(Msg::ConfirmStopWithReason), Msg::ConfirmStopNo)
        }
        Act::Cancel => (
            Msg::ConfirmCancel,
            Msg::ConfirmCancelYes,
            Some(Msg::ConfirmCancelWithReason),
            Msg::ConfirmCancelNo,
        ),
        // A scan has its own confirmation (`scan_confirmation`); this is never asked for one.
        Act::Scan => (Msg::ConfirmScan, Msg::ConfirmScanYes, None, Msg::ConfirmCancelNo),
    };
    let instance = job.instance_no;
    let mut buttons = vec![CreateButton::new(ButtonId::Confirm { act, instance, origin }.to_string())
        .label(t(lang, yes, &[]))
        .style(ButtonStyle::Danger)];
    if let Some(with_reason) = with_reason {
        buttons.push(
            CreateButton::new(ButtonId::Reason { act, instance, origin }.to_string())
                .label(t(lang, with_reason, &[]))
                .style(ButtonStyle::Secondary),
        );
    }
    buttons.push(
        CreateButton::new(ButtonId::Keep { instance }.to_string())
            .label(t(lang, no, &[]))
            .style(ButtonStyle::Secondary),
    );
    let mut embed = job_embed(lang, job, demo);
    if let Some(reason) = reason {
        // Escaped without cutting (at most 200 characters typed), so the click reads it back whole.
        embed = embed.field(t(lang, Msg::FieldReason, &[]), escape(reason), false);
    }
    Reply {
        content: format!("{}\n{}", t(lang, question, &[]), safe_code(&job.start_url, 300)),
        embeds: vec![embed],
        components: vec![CreateActionRow::Buttons(buttons)],
    }
}

/// The reason a confirmation shows, read back from the message a click came from.
pub fn reason_shown(message: &Message) -> Option<String> {
    let names = [Lang::En, Lang::Ko].map(|lang| Msg::FieldReason.text(lang));
    message
        .embeds
        .iter()
        .flat_map(|embed| &embed.fields)
        .find(|field| names.contains(&field.name.as_str()))
        .and_then(|field| super::action::parse_reason(&unescape(&field.value)).ok().flatten())
}

/// The modal that asks why, opened by "Stop with reason…"; its custom id is that button's, so
/// its submission says what to do to which job. `reason` fills it in.
pub fn reason_modal(
    lang: Lang,
    act: Act,
    instance: u64,
    origin: Option<u64>,
    reason: Option<&str>,
) -> CreateModal {
    let title = match act {
        // The flows never open the modal for a scan (it has no reason button).
        Act::Stop | Act::Scan => Msg::ReasonTitleStop,
        Act::Cancel => Msg::ReasonTitleCancel,
    };
    let mut input =
        CreateInputText::new(InputTextStyle::Paragraph, t(lang, Msg::ReasonLabel, &[]), REASON_FIELD)
            .placeholder(t(lang, Msg::ReasonPlaceholder, &[]))
            .min_length(1)
            .max_length(MAX_REASON_CHARS as u16)
            .required(true);
    if let Some(reason) = reason {
        input = input.value(reason);
    }
    CreateModal::new(
        ButtonId::Reason { act, instance, origin }.to_string(),
        truncate(&t(lang, title, &[("id", &instance.to_string())]), 45),
    )
    .components(vec![CreateActionRow::InputText(input)])
}

pub fn invalid_reason(lang: Lang, error: ReasonError) -> Reply {
    Reply::text(match error {
        ReasonError::TooLong(n) => {
            t(lang, Msg::ReasonTooLong, &[("n", &n.to_string()), ("max", &MAX_REASON_CHARS.to_string())])
        }
        ReasonError::Fields | ReasonError::Blank => t(lang, Msg::ReasonMissing, &[]),
    })
}

/// Why nothing was done: the job's state no longer allows the action.
pub fn not_applicable(lang: Lang, job: &Job, act: Act, demo: bool) -> Reply {
    let msg = match act {
        Act::Stop => Msg::NothingToStop,
        Act::Cancel => Msg::NothingToCancel,
        Act::Scan => Msg::NothingToRescan,
    };
    let state = state_name(lang, &job.state);
    Reply {
        content: t(lang, msg, &[("label", &status_text(&job.status_label)), ("state", &state)]),
        embeds: vec![job_embed(lang, job, demo)],
        components: Vec::new(),
    }
}

pub fn no_such_job(lang: Lang, instance: u64) -> Reply {
    Reply::text(t(lang, Msg::NoSuchJob, &[("id", &instance.to_string())]))
}

pub fn invalid_instance(lang: Lang, raw: &str, error: InstanceIdError) -> Reply {
    let msg = match error {
        InstanceIdError::Empty => Msg::InstanceEmpty,
        InstanceIdError::NotDigits => Msg::InstanceNotDigits,
        InstanceIdError::TooLong => Msg::InstanceTooLong,
        InstanceIdError::Zero => Msg::InstanceZero,
    };
    Reply::text(t(lang, msg, &[("input", &safe_code(raw, 40))]))
}

pub fn invalid_filter(lang: Lang, error: &FilterError) -> Reply {
    Reply::text(match error {
        FilterError::UrlAndMemo => t(lang, Msg::UrlAndMemo, &[]),
        FilterError::UnknownStatus(code) => t(lang, Msg::UnknownStatus, &[("status", &code.to_string())]),
    })
}

/// What a member without the role is told. Roles are shown as mentions; the payloads' allowed
/// mentions make sure they ping nobody.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    View,
    Act(Act),
}

pub fn denied(lang: Lang, needed: &[u64], what: Denied) -> Reply {
    if needed.is_empty() {
        return Reply::text(t(lang, Msg::NobodyMayAct, &[]));
    }
    let roles: Vec<String> = needed.iter().map(|id| format!("<@&{id}>")).collect();
    let roles = match roles.as_slice() {
        [one] => t(lang, Msg::RolesOne, &[("roles", one)]),
        many => t(lang, Msg::RolesMany, &[("roles", &many.join(", "))]),
    };
    let msg = match what {
        Denied::View => Msg::DeniedView,
        Denied::Act(Act::Stop) => Msg::DeniedStop,
        Denied::Act(Act::Cancel) => Msg::DeniedCancel,
        Denied::Act(Act::Scan) => Msg::DeniedScan,
    };
    Reply::text(t(lang, msg, &[("roles", &roles)]))
}

/// A WSC failure as a person can act on it, with the reference that finds it in the log.
pub fn wsc_failure(lang: Lang, kind: ErrorKind, correlation: &str) -> Reply {
    let msg = match kind {
        ErrorKind::Credentials => Msg::ErrCredentials,
        ErrorKind::Permission => Msg::ErrPermission,
        ErrorKind::Account => Msg::ErrAccount,
        ErrorKind::NotApplicable => Msg::ErrNotApplicable,
        ErrorKind::RateLimited => Msg::ErrRateLimited,
        ErrorKind::Unavailable => Msg::ErrUnavailable,
        ErrorKind::Timeout => Msg::ErrTimeout,
        ErrorKind::Unreachable => Msg::ErrUnreachable,
        ErrorKind::Rejected => Msg::ErrRejected,
        ErrorKind::Decode => Msg::ErrDecode,
    };
    with_reference(lang, t(lang, msg, &[]), correlation)
}

fn with_reference(lang: Lang, text: String, correlation: &str) -> Reply {
    Reply::text(format!("{text} {}", t(lang, Msg::Reference, &[("ref", correlation)])))
}

pub fn bad_button(lang: Lang, correlation: &str) -> Reply {
    with_reference(lang, t(lang, Msg::BadButton, &[]), correlation)
}

/// What the team sees after an action: who did what to which job, what state it was in, and
/// why when they said.
pub fn public_outcome(lang: Lang, actor_id: u64, act: Act, job: &Job, reason: Option<&str>) -> Reply {
    let msg = match act {
        Act::Stop => Msg::PublicStopped,
        Act::Cancel => Msg::PublicCancelled,
        // A scan's public outcome is `scan_started`.
        Act::Scan => Msg::PublicStarted,
    };
    let progress = job.progress.map(|p| format!(", {p}%")).unwrap_or_default();
    let mut text = t(
        lang,
        msg,
        &[
            ("actor", &actor_id.to_string()),
            ("url", &safe_code(&job.start_url, 300)),
            ("id", &job.instance_no.to_string()),
            ("label", &status_text(&job.status_label)),
            ("progress", &progress),
        ],
    );
    if let Some(reason) = reason {
        text.push('\n');
        text.push_str(&t(lang, Msg::PublicReason, &[("reason", &escape(reason))]));
    }
    Reply::text(text)
}

pub fn done_privately(lang: Lang, act: Act, job: &Job) -> Reply {
    let msg = match act {
        Act::Stop => Msg::DoneStop,
        Act::Cancel => Msg::DoneCancel,
        Act::Scan => Msg::DoneScan,
    };
    Reply::text(t(lang, msg, &[("host", &code(&host(&job.start_url))), ("id", &job.instance_no.to_string())]))
}

/// WSC's answer was lost, cut or late, but the job has left the state the action needed.
pub fn unconfirmed(lang: Lang, now: &Job, demo: bool) -> Reply {
    Reply {
        content: t(lang, Msg::Unconfirmed, &[("label", &status_text(&now.status_label))]),
        embeds: vec![job_embed(lang, now, demo)],
        components: Vec::new(),
    }
}

pub fn in_progress(lang: Lang, act: Act) -> Reply {
    let msg = match act {
        Act::Stop => Msg::InProgressStop,
        Act::Cancel => Msg::InProgressCancel,
        // A scan's confirmation is taken once: a second confirm finds it used.
        Act::Scan => Msg::PendingExpired,
    };
    Reply::text(t(lang, msg, &[]))
}

pub fn working(lang: Lang, act: Act) -> Reply {
    let msg = match act {
        Act::Stop => Msg::WorkingStop,
        Act::Cancel => Msg::WorkingCancel,
        Act::Scan => Msg::WorkingScan,
    };
    Reply::text(t(lang, msg, &[]))
}

pub fn speed_name(lang: Lang, speed: ScanSpeed) -> String {
    let msg = match speed {
        ScanSpeed::Normal => Msg::SpeedNormal,
        ScanSpeed::Faster => Msg::SpeedFaster,
        ScanSpeed::Fast => Msg::SpeedFast,
    };
    t(lang, msg, &[])
}

/// Why a URL typed in chat will not be scanned; `typed` is quoted back inert.
pub fn scan_refused(lang: Lang, typed: &str, refusal: &UrlRefusal) -> Reply {
    Reply::text(match refusal {
        UrlRefusal::NotAUrl => t(lang, Msg::ScanNotAUrl, &[("input", &safe_code(typed, 100))]),
        UrlRefusal::Scheme => t(lang, Msg::ScanScheme, &[]),
        UrlRefusal::Credentials => t(lang, Msg::ScanCredentials, &[]),
        UrlRefusal::TooLong => t(lang, Msg::ScanTooLong, &[("max", &MAX_URL_CHARS.to_string())]),
        UrlRefusal::NotListed(host) => t(lang, Msg::ScanNotListed, &[("host", &safe_code(host, 100))]),
    })
}

/// The question before a billed scan, only to the asker: the URL, the speed, the bill, NCP's
/// precondition; one button, whose request waits in the store under `id`.
pub fn scan_confirmation(lang: Lang, job: &NewJob, id: &str, master: Option<&Job>, demo: bool) -> Reply {
    let question = match job.master_instance_no {
        Some(master) => t(lang, Msg::ConfirmRescan, &[("id", &master.to_string())]),
        None => t(lang, Msg::ConfirmScan, &[]),
    };
    let content = format!(
        "{question}\n{}\n{}\n{}",
        safe_code(&job.start_url, 600),
        t(lang, Msg::ScanSpeedLine, &[("speed", &speed_name(lang, job.speed))]),
        t(lang, Msg::ScanPrecondition, &[]),
    );
    let button = CreateButton::new(ButtonId::ConfirmScan { id: id.to_owned() }.to_string())
        .label(t(lang, Msg::ConfirmScanYes, &[]))
        .style(ButtonStyle::Danger);
    Reply {
        content,
        embeds: master.map(|job| job_embed(lang, job, demo)).into_iter().collect(),
        components: vec![CreateActionRow::Buttons(vec![button])],
    }
}

/// The team's message for a scan started from chat: who, what, the job with its button.
pub fn scan_started(lang: Lang, actor_id: u64, job: &Job, speed: ScanSpeed, demo: bool) -> Reply {
    let content = t(
        lang,
        Msg::PublicStarted,
        &[
            ("actor", &actor_id.to_string()),
            ("url", &safe_code(&job.start_url, 300)),
            ("id", &job.instance_no.to_string()),
            ("speed", &speed_name(lang, speed)),
        ],
    );
    Reply {
        content,
        embeds: vec![job_embed(lang, job, demo)],
        components: action_button(lang, job).map(|b| CreateActionRow::Buttons(vec![b])).into_iter().collect(),
    }
}

/// The Rescan button of a finished job.
pub fn rescan_row(lang: Lang, instance: u64) -> CreateActionRow {
    let label = t(lang, Msg::RescanButton, &[("id", &instance.to_string())]);
    CreateActionRow::Buttons(vec![CreateButton::new(ButtonId::Rescan { instance }.to_string())
        .label(truncate(&label, 80))
        .emoji(ReactionType::Unicode("🔁".into()))
        .style(ButtonStyle::Secondary)])
}

/// A job in a list of a message: its number and URL, inert.
fn job_line((instance, url): &(u64, String)) -> String {
    format!("{instance} {}", safe_code(url, 120))
}

/// Running jobs listed in a message: at most 25, and fewer when long URLs would pass `budget`
/// characters; then how many more, so the count is never cut off.
fn listed(lang: Lang, jobs: &[(u64, String)], budget: usize) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut used = 0;
    for job in jobs.iter().take(25) {
        let line = format!("• {}", job_line(job));
        used += line.chars().count() + 1;
        if used > budget {
            break;
        }
        lines.push(line);
    }
    if jobs.len() > lines.len() {
        lines.push(t(lang, Msg::AndMore, &[("n", &(jobs.len() - lines.len()).to_string())]));
    }
    lines.join("\n")
}

fn url_filter(lang: Lang, keyword: &str) -> String {
    if keyword.trim().is_empty() {
        String::new()
    } else {
        t(lang, Msg::StopAllFilter, &[("keyword", &safe_code(keyword, 100))])
    }
}

pub fn nothing_running(lang: Lang, keyword: &str) -> Reply {
    Reply::text(t(lang, Msg::NothingRunning, &[("filter", &url_filter(lang, keyword))]))
}

/// The question before stopping every running job listed, with one button.
pub fn stop_all_confirmation(lang: Lang, jobs: &[(u64, String)], keyword: &str, id: &str) -> Reply {
    let n = jobs.len().to_string();
    let question = t(lang, Msg::ConfirmStopAll, &[("n", &n), ("filter", &url_filter(lang, keyword))]);
    let button = CreateButton::new(ButtonId::ConfirmStopAll { id: id.to_owned() }.to_string())
        .label(truncate(&t(lang, Msg::ConfirmStopAllYes, &[("n", &n)]), 80))
        .style(ButtonStyle::Danger);
    Reply {
        content: truncate(&format!("{question}\n{}", listed(lang, jobs, 1500)), 2000),
        embeds: Vec::new(),
        components: vec![CreateActionRow::Buttons(vec![button])],
    }
}

pub fn stop_all_working(lang: Lang, n: usize) -> Reply {
    Reply::text(t(lang, Msg::WorkingStopAll, &[("n", &n.to_string())]))
}

/// What became of each job a stop-all listed.
#[derive(Debug, Default)]
pub struct StopAllSummary {
    pub stopped: Vec<(u64, String)>,
    pub finished: Vec<(u64, String)>,
    pub busy: Vec<(u64, String)>,
    pub failed: Vec<(u64, String)>,
}

impl StopAllSummary {
    /// Stopped (by this confirm or by someone at the same time), had already finished, failed.
    fn counts(&self) -> [String; 3] {
        [self.stopped.len() + self.busy.len(), self.finished.len(), self.failed.len()].map(|n| n.to_string())
    }

    fn details(&self, lang: Lang, reference: &str) -> String {
        let mut lines = Vec::new();
        for (msg, jobs) in [
            (Msg::StopAllStopped, &self.stopped),
            (Msg::StopAllBusy, &self.busy),
            (Msg::StopAllFinished, &self.finished),
            (Msg::StopAllFailed, &self.failed),
        ] {
            if !jobs.is_empty() {
                let shown: Vec<String> = jobs.iter().take(25).map(job_line).collect();
                let more = jobs.len().saturating_sub(25);
                let mut text = shown.join(", ");
                if more > 0 {
                    text = format!("{text} {}", t(lang, Msg::AndMore, &[("n", &more.to_string())]));
                }
                lines.push(t(lang, msg, &[("jobs", &text)]));
            }
        }
        if !self.failed.is_empty() {
            lines.push(t(lang, Msg::Reference, &[("ref", reference)]));
        }
        lines.join("\n")
    }

    /// The team's one message.
    pub fn public(&self, lang: Lang, actor_id: u64, keyword: &str, reference: &str) -> Reply {
        let [stopped, finished, failed] = self.counts();
        let (actor, filter) = (actor_id.to_string(), url_filter(lang, keyword));
        let head = t(
            lang,
            Msg::PublicStopAll,
            &[
                ("actor", &actor),
                ("filter", &filter),
                ("stopped", &stopped),
                ("finished", &finished),
                ("failed", &failed),
            ],
        );
        Reply::text(format!("{head}\n{}", self.details(lang, reference)))
    }

    /// The asker's answer.
    pub fn private(&self, lang: Lang) -> Reply {
        let [stopped, finished, failed] = self.counts();
        Reply::text(t(
            lang,
            Msg::DoneStopAll,
            &[("stopped", &stopped), ("finished", &finished), ("failed", &failed)],
        ))
    }
}

pub fn kept(lang: Lang, instance: u64) -> Reply {
    Reply::text(t(lang, Msg::Kept, &[("id", &instance.to_string())]))
}

pub fn plain(lang: Lang, msg: Msg) -> Reply {
    Reply::text(t(lang, msg, &[]))
}

/// A finished job's report: risk counts, times, domains and the main categories.
pub fn report(lang: Lang, instance: u64, job: Option<&Job>, report: &Report, demo: bool) -> Reply {
    let target = report.target.as_deref().or(job.map(|j| j.start_url.as_str())).unwrap_or("");
    let risk = |value: Option<u64>| count(value);
    let list = |items: &[String]| {
        if items.is_empty() {
            "—".to_owned()
        } else {
            let shown: Vec<String> = items.iter().take(10).map(|i| safe(i, 60)).collect();
            let more = items.len().saturating_sub(10);
            let tail = if more > 0 { format!(" (+{more})") } else { String::new() };
            truncate(&format!("{}{tail}", shown.join(", ")), 1000)
        }
    };
    let fields = vec![
        (Msg::RiskTotal, risk(report.risk.total), true),
        (Msg::RiskHigh, format!("🔴 {}", risk(report.risk.high)), true),
        (Msg::RiskMedium, format!("🟠 {}", risk(report.risk.medium)), true),
        (Msg::RiskLow, format!("🟡 {}", risk(report.risk.low)), true),
        (Msg::CrawlTime, report.crawl_time.as_deref().map_or("—".into(), |t| safe(t, 40)), true),
        (Msg::ScanTime, report.scan_time.as_deref().map_or("—".into(), |t| safe(t, 40)), true),
        (Msg::ScannedDomains, list(&report.scanned_domains), false),
        (Msg::Categories, list(&report.categories), false),
        (Msg::ReportDate, kst(report.report_date.as_deref()), true),
    ];
    let colour = match (report.risk.high, report.risk.medium) {
        (Some(high), _) if high > 0 => 0xDA373C,
        (_, Some(medium)) if medium > 0 => 0xF0B232,
        _ => 0x23A55A,
    };
    let embed = CreateEmbed::new()
        .title(truncate(&t(lang, Msg::ReportTitle, &[("host", &escape(&host(target)))]), 200))
        .description(safe_code(target, 300))
        .colour(colour)
        .fields(fields.into_iter().map(|(name, value, inline)| (t(lang, name, &[]), value, inline)))
        .footer(footer(t(lang, Msg::JobFooter, &[("id", &instance.to_string())]), demo));
    Reply { content: String::new(), embeds: vec![embed], components: Vec::new() }
}

/// Why there is no report: expired, not finished, or no such job.
pub fn no_report(lang: Lang, instance: u64, job: Option<&Job>) -> Reply {
    let id = instance.to_string();
    match job {
        None => no_such_job(lang, instance),
        Some(job) if job.state == JobState::Expired => {
            Reply::text(t(lang, Msg::ReportExpired, &[("id", &id)]))
        }
        Some(job) => {
            let (label, state) = (status_text(&job.status_label), state_name(lang, &job.state));
            Reply::text(t(lang, Msg::ReportNotReady, &[("id", &id), ("label", &label), ("state", &state)]))
        }
    }
}

/// One autocomplete choice: `1234567890 · target.example · running 42%`, at most 100 characters.
pub fn choice_name(lang: Lang, job: &Job) -> String {
    let progress = job.progress.map(|p| format!(" {p}%")).unwrap_or_default();
    let state = match &job.state {
        JobState::Unknown(raw) => raw.clone(),
        state => state_name(lang, state),
    };
    truncate(&format!("{} · {} · {state}{progress}", job.instance_no, host(&job.start_url)), 100)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wsc::model::decode_job;

    /// No forged mention or heading outside a code span.
    fn assert_inert(text: &str) {
        for forged in ["@everyone", "<@&1>"] {
            for (at, _) in text.match_indices(forged) {
                let before = &text[..at];
                let ticks = before.match_indices('`').filter(|(i, _)| !before[..*i].ends_with('\\')).count();
                assert!(before.ends_with('\\') || ticks % 2 == 1, "`{forged}` came through: {text}");
            }
        }
    }

    #[test]
    fn a_stop_all_confirmation_shows_at_most_25_jobs_and_stays_within_limits() {
        let hostile = format!("https://x.example.com/{}@everyone`<@&1>", "a".repeat(600));
        let jobs: Vec<(u64, String)> =
            (1..=40).map(|i| (9_999_999_999_999_999_000 + i, hostile.clone())).collect();
        for lang in [Lang::En, Lang::Ko] {
            let reply = stop_all_confirmation(lang, &jobs, "x.example.com", "abcdefghijkl");
            assert!(reply.content.chars().count() <= 2000, "{}", reply.content.len());
            let shown = reply.content.matches('•').count();
            assert!((5..25).contains(&shown), "as many as fit: {shown}");
            let more = (40 - shown).to_string();
            let more =
                if lang == Lang::En { format!("…and {more} more") } else { format!("…외 {more}개") };
            assert!(reply.content.ends_with(&more), "the count is never cut off: {}", reply.content);
            assert_inert(&reply.content);
            let button = serde_json::to_value(&reply.components[0]).unwrap();
            let custom_id = button["components"][0]["custom_id"].as_str().unwrap();
            assert_eq!(
                ButtonId::parse(custom_id),
                Ok(ButtonId::ConfirmStopAll { id: "abcdefghijkl".into() })
            );
            assert!(button["components"][0]["label"].as_str().unwrap().contains("40"));
        }
        let short: Vec<(u64, String)> = (1..=30).map(|i| (i, format!("https://h{i}.example.com/"))).collect();
        let reply = stop_all_confirmation(Lang::En, &short, "", "abcdefghijkl");
        assert_eq!(reply.content.matches('•').count(), 25, "at most 25 shown");
        assert!(reply.content.ends_with("…and 5 more"), "{}", reply.content);
        let few = stop_all_confirmation(Lang::En, &jobs[..3], "", "abcdefghijkl");
        assert!(!few.content.contains("more") && few.content.matches('•').count() == 3, "{}", few.content);
    }

    #[test]
    fn a_stop_all_summary_counts_and_names_every_job() {
        let summary = StopAllSummary {
            stopped: vec![(1, "https://a/".into())],
            finished: vec![(2, "https://b/".into()), (3, "https://c/".into())],
            busy: vec![(4, "https://d/".into())],
            failed: vec![(5, "https://e/".into())],
        };
        let public = summary.public(Lang::En, 42, "", "REF123").content;
        assert!(
            public
                .starts_with("⏹️ <@42> stopped running scans: 2 stopped, 2 had already finished, 1 failed."),
            "{public}"
        );
        for job in ["1 `https://a/`", "2 `https://b/`", "4 `https://d/`", "5 `https://e/`", "REF123"] {
            assert!(public.contains(job), "{job} in {public}");
        }
        assert!(summary.private(Lang::Ko).content.starts_with("완료: 2개 중지"));
    }

    fn page_of(jobs: usize, total_pages: u64) -> JobPage {
        let job = |n: usize| {
            let record = serde_json::json!({"instanceNo": 1000 + n, "result_button": "terminate", "start_url": "https://a.example"});
            decode_job(&record).unwrap()
        };
        JobPage { jobs: (0..jobs).map(job).collect(), total: u64::MAX, total_pages, skipped: 0 }
    }

    fn custom_ids(reply: &Reply) -> Vec<String> {
        let rows = serde_json::to_value(&reply.components).unwrap();
        let buttons =
            rows.as_array().unwrap().iter().flat_map(|row| row["components"].as_array().unwrap().clone());
        buttons.filter_map(|b| b["custom_id"].as_str().map(str::to_owned)).collect()
    }

    #[test]
    fn hostile_page_counts_give_buttons_the_parser_accepts() {
        // `"1e20"` reads as u64::MAX; a page past 10,000 is one no button may carry.
        for total_pages in [0, 1, 9_999, u64::from(MAX_PAGE), 10_001, u64::from(u32::MAX) + 1, u64::MAX] {
            for current in [0, 1, 2, 9_999, MAX_PAGE, MAX_PAGE + 1, u32::MAX] {
                for jobs in [0, 1, 5] {
                    let reply = jobs_page(
                        Lang::En,
                        &page_of(jobs, total_pages),
                        current,
                        &JobFilter::default(),
                        false,
                        false,
                    );
                    let ids = custom_ids(&reply);
                    assert!(!ids.is_empty(), "a Refresh button at least");
                    for id in ids {
                        assert!(
                            ButtonId::parse(&id).is_ok(),
                            "{id} (pages {total_pages}, at {current}, {jobs} jobs)"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn the_last_page_a_button_can_reach_has_no_older_button() {
        let reply = jobs_page(Lang::En, &page_of(5, u64::MAX), MAX_PAGE, &JobFilter::default(), false, false);
        let ids = custom_ids(&reply);
        assert!(
            ids.contains(&"wsc:v1:page:9999".to_owned()) && ids.contains(&"wsc:v1:refresh:10000".to_owned()),
            "{ids:?}"
        );
        assert!(!ids.iter().any(|id| id.ends_with(":10001")), "{ids:?}");
        let first = jobs_page(Lang::En, &page_of(5, u64::MAX), 1, &JobFilter::default(), false, false);
        assert!(first.content.starts_with("**Scan jobs** · page 1 of 10000"), "{}", first.content);
        assert!(custom_ids(&first).contains(&"wsc:v1:page:2".to_owned()));
    }

    #[test]
    fn progress_bars() {
        assert_eq!(progress_bar(0), "▱▱▱▱▱▱▱▱▱▱ 0%");
        assert_eq!(progress_bar(42), "▰▰▰▰▱▱▱▱▱▱ 42%");
        assert_eq!(progress_bar(100), "▰▰▰▰▰▰▰▰▰▰ 100%");
    }

    #[test]
    fn kst_times() {
        assert_eq!(kst(Some("2024-07-31 09:05:59")), "2024-07-31 09:05 KST");
        assert_eq!(kst(Some("2024/07/31")), "2024/07/31 KST");
        assert_eq!(kst(Some("")), "—");
        assert_eq!(kst(None), "—");
    }

    #[test]
    fn denial_names_roles_as_mentions_in_both_languages() {
        let en = denied(Lang::En, &[1, 2], Denied::Act(Act::Stop)).content;
        assert_eq!(en, "You need one of the roles <@&1>, <@&2> to stop scans. Nothing was done.");
        let ko = denied(Lang::Ko, &[1], Denied::Act(Act::Stop)).content;
        assert_eq!(ko, "스캔을 중지하려면 <@&1> 역할이 필요합니다. 아무것도 바뀌지 않았습니다.");
        assert!(denied(Lang::En, &[], Denied::Act(Act::Stop)).content.contains("WSC_OPERATOR_ROLE_IDS"));
    }
}
