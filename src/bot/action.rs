//! What a person asked for: slash-command options and `custom_id`s parsed into one shape.
//! `custom_id` format: `wsc:v1:<verb>[:<arg>…]`; every piece of state a click needs is in it.

use std::fmt;

use serenity::all::{CommandData, CommandDataOption, CommandDataOptionValue};

use crate::wsc::model::STATUS_CODES;
use crate::wsc::{JobAction, ScanSpeed, SearchField};

pub const PREFIX: &str = "wsc:v1:";
/// A job number: a positive integer of at most 19 digits (fits `u64`).
pub const MAX_INSTANCE_DIGITS: usize = 19;
pub const MAX_PAGE: u32 = 10_000;
/// The longest reason a person may give for a cancel or stop, in characters.
pub const MAX_REASON_CHARS: usize = 200;
/// The custom id of the reason modal's one text field.
pub const REASON_FIELD: &str = "reason";

/// The actions with an effect, each confirmed before it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Act {
    Cancel,
    Stop,
    /// A scan started from chat, or a rescan: billed.
    Scan,
}

impl Act {
    /// What the job's state must allow; a rescan needs a finished job (one with its report).
    pub fn job_action(self) -> JobAction {
        match self {
            Self::Cancel => JobAction::Cancel,
            Self::Stop => JobAction::Stop,
            Self::Scan => JobAction::Report,
        }
    }

    /// Cancel or stop by its verb: the attempts a restart can settle by reading the job again.
    pub fn from_verb(verb: &str) -> Option<Self> {
        [Self::Cancel, Self::Stop].into_iter().find(|act| act.verb() == verb)
    }

    pub fn verb(self) -> &'static str {
        match self {
            Self::Cancel => "cancel",
            Self::Stop => "stop",
            Self::Scan => "scan",
        }
    }
}

/// The id of a request awaiting confirmation in the store: short, random, lower-case letters
/// and digits (see `new_pending_id`).
pub const PENDING_ID_LEN: usize = 12;

pub fn new_pending_id() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..PENDING_ID_LEN).map(|_| char::from(ALPHABET[fastrand::usize(..ALPHABET.len())])).collect()
}

fn is_pending_id(text: &str) -> bool {
    text.len() == PENDING_ID_LEN && text.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// Every button the bot puts on a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ButtonId {
    /// Cancel or Stop on a job: opens the confirmation.
    Ask { act: Act, instance: u64 },
    /// The confirmation's danger button. `origin` is the public jobs message to refresh afterwards.
    Confirm { act: Act, instance: u64, origin: Option<u64> },
    /// "Stop with reason…" on the confirmation: opens the reason modal, whose custom id is the
    /// same text (its submission is the confirmation).
    Reason { act: Act, instance: u64, origin: Option<u64> },
    /// "Keep running": closes the confirmation, changes nothing.
    Keep { instance: u64 },
    /// ◀ ▶ on the jobs view.
    Page { page: u32, filter: JobFilter },
    /// Refresh on the jobs view; the same as `Page`, but marks the page the message shows.
    Refresh { page: u32, filter: JobFilter },
    /// Report on a finished job.
    Report { instance: u64 },
    /// Rescan on a finished job: opens the scan confirmation.
    Rescan { instance: u64 },
    /// The scan confirmation's button; the scan's URL and options are in the store under `id`.
    ConfirmScan { id: String },
    /// The stop-all confirmation's button; the listed jobs are in the store under `id`.
    ConfirmStopAll { id: String },
    /// ◀ ▶ on the audit trail's page.
    Audit { page: u32, filter: AuditFilter },
}

/// Whose events and which job's `/wsc audit` shows; carried in its buttons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AuditFilter {
    pub instance: Option<u64>,
    /// The member who asked (a Discord user id).
    pub actor: Option<u64>,
}

impl AuditFilter {
    /// `:i<instance>` then `:u<member>`, each only when set.
    fn suffix(&self) -> String {
        let instance = self.instance.map(|i| format!(":i{i}")).unwrap_or_default();
        let actor = self.actor.map(|a| format!(":u{a}")).unwrap_or_default();
        format!("{instance}{actor}")
    }

    fn decode(parts: &[&str]) -> Option<Self> {
        let mut filter = Self::default();
        for part in parts {
            let number = || part.get(1..).and_then(|digits| parse_instance_id(digits).ok());
            match part.chars().next()? {
                'i' if filter.instance.is_none() => filter.instance = Some(number()?),
                'u' if filter.actor.is_none() => filter.actor = Some(number()?),
                _ => return None,
            }
        }
        Some(filter)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CustomIdError {
    #[error("not one of this bot's buttons")]
    NotOurs,
    #[error("a button from another version of the bot")]
    Version,
    #[error("an unknown button")]
    UnknownVerb,
    #[error("a malformed button")]
    Malformed,
}

impl ButtonId {
    pub fn parse(custom_id: &str) -> Result<Self, CustomIdError> {
        if custom_id.chars().count() > 100 {
            return Err(CustomIdError::Malformed);
        }
        let mut parts = custom_id.split(':');
        if parts.next() != Some("wsc") {
            return Err(CustomIdError::NotOurs);
        }
        if parts.next() != Some("v1") {
            return Err(CustomIdError::Version);
        }
        let verb = parts.next().unwrap_or("");
        let args: Vec<&str> = parts.collect();
        let instance = |text: &str| parse_instance_id(text).map_err(|_| CustomIdError::Malformed);
        let page = |text: &str| parse_page(text).ok_or(CustomIdError::Malformed);
        let pending =
            |text: &str| is_pending_id(text).then(|| text.to_owned()).ok_or(CustomIdError::Malformed);
        let button = match (verb, args.as_slice()) {
            ("cancel", [id]) => Self::Ask { act: Act::Cancel, instance: instance(id)? },
            ("stop", [id]) => Self::Ask { act: Act::Stop, instance: instance(id)? },
            ("confirm-cancel" | "confirm-stop", [id, rest @ ..]) if rest.len() <= 1 => Self::Confirm {
                act: if verb == "confirm-stop" { Act::Stop } else { Act::Cancel },
                instance: instance(id)?,
                origin: rest.first().map(|m| instance(m)).transpose()?,
            },
            ("reason-cancel" | "reason-stop", [id, rest @ ..]) if rest.len() <= 1 => Self::Reason {
                act: if verb == "reason-stop" { Act::Stop } else { Act::Cancel },
                instance: instance(id)?,
                origin: rest.first().map(|m| instance(m)).transpose()?,
            },
            ("keep", [id]) => Self::Keep { instance: instance(id)? },
            ("page" | "refresh", [p, rest @ ..]) if rest.len() <= 1 => {
                let page = page(p)?;
                let filter =
                    rest.first().map(|f| JobFilter::decode(f).ok_or(CustomIdError::Malformed)).transpose()?;
                let filter = filter.unwrap_or_default();
                if verb == "page" {
                    Self::Page { page, filter }
                } else {
                    Self::Refresh { page, filter }
                }
            }
            ("report", [id]) => Self::Report { instance: instance(id)? },
            ("audit", [p, rest @ ..]) if rest.len() <= 2 => Self::Audit {
                page: page(p)?,
                filter: AuditFilter::decode(rest).ok_or(CustomIdError::Malformed)?,
            },
            ("rescan", [id]) => Self::Rescan { instance: instance(id)? },
            ("confirm-scan", [id]) => Self::ConfirmScan { id: pending(id)? },
            ("confirm-stop-all", [id]) => Self::ConfirmStopAll { id: pending(id)? },
            (
                "cancel" | "stop" | "confirm-cancel" | "confirm-stop" | "reason-cancel" | "reason-stop"
                | "keep" | "page" | "refresh" | "report" | "audit" | "rescan" | "confirm-scan"
                | "confirm-stop-all",
                _,
            ) => return Err(CustomIdError::Malformed),
            _ => return Err(CustomIdError::UnknownVerb),
        };
        // Only what the bot itself writes: an equivalent spelling (whitespace, leading zeros, a
        // `+`) was altered all the same.
        if button.to_string() != custom_id {
            return Err(CustomIdError::Malformed);
        }
        Ok(button)
    }
}

impl fmt::Display for ButtonId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ask { act, instance } => write!(f, "{PREFIX}{}:{instance}", act.verb()),
            Self::Confirm { act, instance, origin: None } => {
                write!(f, "{PREFIX}confirm-{}:{instance}", act.verb())
            }
            Self::Confirm { act, instance, origin: Some(message) } => {
                write!(f, "{PREFIX}confirm-{}:{instance}:{message}", act.verb())
            }
            Self::Reason { act, instance, origin: None } => {
                write!(f, "{PREFIX}reason-{}:{instance}", act.verb())
            }
            Self::Reason { act, instance, origin: Some(message) } => {
                write!(f, "{PREFIX}reason-{}:{instance}:{message}", act.verb())
            }
            Self::Keep { instance } => write!(f, "{PREFIX}keep:{instance}"),
            Self::Page { page, filter } => write!(f, "{PREFIX}page:{page}{}", filter.suffix()),
            Self::Refresh { page, filter } => write!(f, "{PREFIX}refresh:{page}{}", filter.suffix()),
            Self::Report { instance } => write!(f, "{PREFIX}report:{instance}"),
            Self::Audit { page, filter } => write!(f, "{PREFIX}audit:{page}{}", filter.suffix()),
            Self::Rescan { instance } => write!(f, "{PREFIX}rescan:{instance}"),
            Self::ConfirmScan { id } => write!(f, "{PREFIX}confirm-scan:{id}"),
            Self::ConfirmStopAll { id } => write!(f, "{PREFIX}confirm-stop-all:{id}"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstanceIdError {
    Empty,
    NotDigits,
    TooLong,
    Zero,
}

/// A job number typed by a person or carried in a `custom_id`. Surrounding spaces are
/// forgiven; anything else that is not 1 to 19 digits is refused.
pub fn parse_instance_id(text: &str) -> Result<u64, InstanceIdError> {
    let digits = text.trim();
    if digits.is_empty() {
        return Err(InstanceIdError::Empty);
    }
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(InstanceIdError::NotDigits);
    }
    if digits.len() > MAX_INSTANCE_DIGITS {
        return Err(InstanceIdError::TooLong);
    }
    match digits.parse::<u64>() {
        Ok(0) => Err(InstanceIdError::Zero),
        Ok(n) => Ok(n),
        Err(_) => Err(InstanceIdError::TooLong),
    }
}

fn parse_page(text: &str) -> Option<u32> {
    text.bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| text.parse::<u32>().ok())
        .flatten()
        .filter(|p| (1..=MAX_PAGE).contains(p))
}

/// A search filter of the jobs view, carried in its buttons' custom ids.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JobFilter {
    pub field: SearchField,
    pub keyword: String,
    pub status: Option<u16>,
}

/// Room left for the filter in the longest custom id (`wsc:v1:refresh:10000:`).
const FILTER_BUDGET: usize = 100 - "wsc:v1:refresh:10000:".len();

impl JobFilter {
    pub fn is_empty(&self) -> bool {
        self.keyword.is_empty() && self.status.is_none()
    }

    /// A filter whose encoding fits in every button; the flag says the keyword was shortened.
    pub fn fitted(field: SearchField, keyword: &str, status: Option<u16>) -> (Self, bool) {
        let head = 1 + status.map_or(0, |s| s.to_string().len()) + 1;
        let mut kept = String::new();
        let mut used = head;
        for c in keyword.trim().chars() {
            let cost = if matches!(c, ':' | '%') { 3 } else { 1 };
            if used + cost > FILTER_BUDGET {
                let filter = Self { field, keyword: kept, status };
                return (filter, true);
            }
            used += cost;
            kept.push(c);
        }
        (Self { field, keyword: kept, status }, false)
    }

    /// `:<field><status>.<keyword>`, or nothing for no filter. `:` and `%` are percent-encoded.
    fn suffix(&self) -> String {
        if self.is_empty() {
            return String::new();
        }
        let field = match self.field {
            SearchField::Any => 'a',
            SearchField::Url => 'u',
            SearchField::Memo => 'm',
        };
        let status = self.status.map(|s| s.to_string()).unwrap_or_default();
        let keyword = self.keyword.replace('%', "%25").replace(':', "%3A");
        format!(":{field}{status}.{keyword}")
    }

    fn decode(text: &str) -> Option<Self> {
        let (head, keyword) = text.split_once('.')?;
        let mut chars = head.chars();
        let field = match chars.next()? {
            'a' => SearchField::Any,
            'u' => SearchField::Url,
            'm' => SearchField::Memo,
            _ => return None,
        };
        let status = chars.as_str();
        let status = if status.is_empty() {
            None
        } else {
            Some(status.parse::<u16>().ok().filter(|s| is_status_code(*s))?)
        };
        let mut decoded = String::new();
        let mut rest = keyword;
        while let Some(at) = rest.find('%') {
            decoded.push_str(&rest[..at]);
            match rest.get(at + 1..at + 3)? {
                "25" => decoded.push('%'),
                "3A" => decoded.push(':'),
                _ => return None,
            }
            rest = &rest[at + 3..];
        }
        decoded.push_str(rest);
        let filter = Self { field, keyword: decoded, status };
        (!filter.is_empty()).then_some(filter)
    }
}

pub fn is_status_code(code: u16) -> bool {
    STATUS_CODES.iter().any(|(c, _, _)| *c == code)
}

/// Everything an interaction can ask of the bot, each kind of interaction reduced to one shape:
/// what the permission table (`policy::permission`) and the flows read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// `/wsc jobs`; `shortened` when the keyword was cut to fit the buttons.
    Jobs { page: u32, private: bool, filter: JobFilter, shortened: bool },
    /// ◀ ▶ or Refresh; `origin` is the public message they are on (`None`: an ephemeral one).
    Page { page: u32, filter: JobFilter, origin: Option<u64> },
    /// `/wsc report`, or the Report button.
    Report { instance: u64 },
    /// `/wsc cancel|stop`, or the Cancel or Stop button: shows the confirmation; `reason` is the
    /// command's.
    Ask {
        act: Act,
        instance: u64,
        origin: Option<u64>,
        shown: Option<(u32, JobFilter)>,
        reason: Option<String>,
    },
    /// The confirmation's danger button (`reason`: the one it shows), or the reason modal's
    /// submission.
    Confirm { act: Act, instance: u64, origin: Option<u64>, reason: Option<String> },
    /// "Stop with reason…": opens the modal, filled with the reason the confirmation shows.
    OpenReason { act: Act, instance: u64, origin: Option<u64>, reason: Option<String> },
    /// "Keep running" on the confirmation.
    Keep { instance: u64 },
    /// `/wsc audit`, or its ◀ ▶ (`update`: the message they are on is replaced).
    Audit { page: u32, filter: AuditFilter, update: bool },
    /// `/wsc scan`: the URL as typed (checked against `WSC_SCAN_TARGETS` by the flow).
    Scan { url: String, memo: String, speed: ScanSpeed },
    /// The Rescan button of a finished job.
    Rescan { instance: u64 },
    /// The scan confirmation's button.
    ConfirmScan { id: String },
    /// `/wsc stop-all`, with the text the jobs' URLs must contain (empty: every running job).
    StopAll { url: String },
    /// The stop-all confirmation's button.
    ConfirmStopAll { id: String },
    /// Autocomplete of a job number.
    Choices { wanted: Wanted, typed: String },
    /// Autocomplete of anything else: no choices.
    NoChoices,
    /// Input the bot cannot act on, answered with a sentence.
    Invalid(Invalid),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalid {
    Filter(FilterError),
    /// The text typed, and what is wrong with it.
    Instance(String, InstanceIdError),
    /// A `custom_id` the bot did not write, or no longer understands; kept for the log.
    Button(String, CustomIdError),
    /// A modal submission that is none of the bot's modals; its custom id, for the log.
    Modal(String),
    Reason(ReasonError),
    /// A scan speed that is none of the choices, as sent.
    Speed(String),
    UnknownCommand,
}

impl Request {
    pub fn of(kind: &super::Kind) -> Self {
        use super::Kind;
        match kind {
            Kind::Command(command) => match command.clone() {
                CommandRequest::Jobs { page, private, filter: Ok((filter, shortened)) } => {
                    Self::Jobs { page, private, filter, shortened }
                }
                CommandRequest::Jobs { filter: Err(error), .. } => Self::Invalid(Invalid::Filter(error)),
                CommandRequest::Act { act, instance: Ok(instance), reason: Ok(reason) } => {
                    Self::Ask { act, instance, origin: None, shown: None, reason }
                }
                CommandRequest::Report { instance: Ok(instance) } => Self::Report { instance },
                CommandRequest::Audit { instance: Ok(instance), actor } => {
                    Self::Audit { page: 1, filter: AuditFilter { instance, actor }, update: false }
                }
                CommandRequest::Act { instance: Ok(_), reason: Err(error), .. } => {
                    Self::Invalid(Invalid::Reason(error))
                }
                CommandRequest::Act { instance: Err((raw, error)), .. }
                | CommandRequest::Report { instance: Err((raw, error)) }
                | CommandRequest::Audit { instance: Err((raw, error)), .. } => {
                    Self::Invalid(Invalid::Instance(raw, error))
                }
                CommandRequest::Scan { url, memo, speed: Ok(speed) } => Self::Scan { url, memo, speed },
                CommandRequest::Scan { speed: Err(raw), .. } => Self::Invalid(Invalid::Speed(raw)),
                CommandRequest::StopAll { url } => Self::StopAll { url },
                CommandRequest::Unknown => Self::Invalid(Invalid::UnknownCommand),
            },
            Kind::Button { custom_id, origin, shown, reason } => match ButtonId::parse(custom_id) {
                Ok(ButtonId::Ask { act, instance }) => {
                    Self::Ask { act, instance, origin: *origin, shown: shown.clone(), reason: None }
                }
                Ok(ButtonId::Confirm { act, instance, origin }) => {
                    Self::Confirm { act, instance, origin, reason: reason.clone() }
                }
                Ok(ButtonId::Reason { act, instance, origin }) => {
                    Self::OpenReason { act, instance, origin, reason: reason.clone() }
                }
                Ok(ButtonId::Keep { instance }) => Self::Keep { instance },
                Ok(ButtonId::Page { page, filter } | ButtonId::Refresh { page, filter }) => {
                    Self::Page { page, filter, origin: *origin }
                }
                Ok(ButtonId::Report { instance }) => Self::Report { instance },
                Ok(ButtonId::Audit { page, filter }) => Self::Audit { page, filter, update: true },
                Ok(ButtonId::Rescan { instance }) => Self::Rescan { instance },
                Ok(ButtonId::ConfirmScan { id }) => Self::ConfirmScan { id },
                Ok(ButtonId::ConfirmStopAll { id }) => Self::ConfirmStopAll { id },
                Err(error) => Self::Invalid(Invalid::Button(custom_id.clone(), error)),
            },
            Kind::Modal { custom_id, fields } => match ButtonId::parse(custom_id) {
                Ok(ButtonId::Reason { act, instance, origin }) => match modal_reason(fields) {
                    Ok(reason) => Self::Confirm { act, instance, origin, reason: Some(reason) },
                    Err(error) => Self::Invalid(Invalid::Reason(error)),
                },
                _ => Self::Invalid(Invalid::Modal(custom_id.clone())),
            },
            Kind::Autocomplete(Some((wanted, typed))) => {
                Self::Choices { wanted: *wanted, typed: typed.clone() }
            }
            Kind::Autocomplete(None) => Self::NoChoices,
        }
    }
}

/// A slash command's request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandRequest {
    Jobs {
        page: u32,
        private: bool,
        filter: Result<(JobFilter, bool), FilterError>,
    },
    /// `instance` keeps the raw text when it is not a job number, to quote it back.
    Act {
        act: Act,
        instance: Result<u64, (String, InstanceIdError)>,
        reason: Result<Option<String>, ReasonError>,
    },
    Report {
        instance: Result<u64, (String, InstanceIdError)>,
    },
    /// `instance`: `None` when not given.
    Audit {
        instance: Result<Option<u64>, (String, InstanceIdError)>,
        actor: Option<u64>,
    },
    /// `speed` keeps the raw text when it is none of the choices.
    Scan {
        url: String,
        memo: String,
        speed: Result<ScanSpeed, String>,
    },
    StopAll {
        url: String,
    },
    Unknown,
}

/// What is wrong with a reason given for a cancel or stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReasonError {
    /// Longer than `MAX_REASON_CHARS`: how many characters it had.
    TooLong(usize),
    /// A modal submission without the one `reason` field, with another field or with more.
    Fields,
    /// The modal's field was left blank.
    Blank,
}

/// A reason as typed: one line (line breaks cannot forge lines of the audit trail), trimmed;
/// `None` when blank.
pub fn parse_reason(text: &str) -> Result<Option<String>, ReasonError> {
    let line = super::text::one_line(text);
    let line = line.trim();
    match line.chars().count() {
        0 => Ok(None),
        n if n > MAX_REASON_CHARS => Err(ReasonError::TooLong(n)),
        _ => Ok(Some(line.to_owned())),
    }
}

/// The reason modal's submission, as (field custom id, value) pairs: exactly the one `reason`
/// field, not blank.
pub fn modal_reason(fields: &[(String, Option<String>)]) -> Result<String, ReasonError> {
    match fields {
        [(id, Some(value))] if id == REASON_FIELD => parse_reason(value)?.ok_or(ReasonError::Blank),
        _ => Err(ReasonError::Fields),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterError {
    UrlAndMemo,
    UnknownStatus(i64),
}

/// What an autocomplete is for: which jobs to offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wanted {
    Act(Act),
    Report,
}

fn subcommand(data: &CommandData) -> Option<(&str, &[CommandDataOption])> {
    if data.name != "wsc" {
        return None;
    }
    match data.options.first()? {
        CommandDataOption { name, value: CommandDataOptionValue::SubCommand(options), .. } => {
            Some((name.as_str(), options.as_slice()))
        }
        _ => None,
    }
}

fn text_option(options: &[CommandDataOption], wanted: &str) -> String {
    match options.iter().find(|o| o.name == wanted).map(|o| &o.value) {
        Some(CommandDataOptionValue::String(text)) => text.clone(),
        Some(CommandDataOptionValue::Integer(n)) => n.to_string(),
        Some(CommandDataOptionValue::Autocomplete { value, .. }) => value.clone(),
        _ => String::new(),
    }
}

pub fn parse_command(data: &CommandData) -> CommandRequest {
    let Some((name, options)) = subcommand(data) else {
        return CommandRequest::Unknown;
    };
    let option = |wanted: &str| options.iter().find(|o| o.name == wanted).map(|o| &o.value);
    let instance = || {
        let raw = text_option(options, "instance_id");
        parse_instance_id(&raw).map_err(|e| (raw, e))
    };
    match name {
        "jobs" => CommandRequest::Jobs {
            page: match option("page") {
                Some(CommandDataOptionValue::Integer(p)) => (*p).clamp(1, i64::from(MAX_PAGE)) as u32,
                _ => 1,
            },
            private: matches!(option("private"), Some(CommandDataOptionValue::Boolean(true))),
            filter: jobs_filter(
                &text_option(options, "url"),
                &text_option(options, "memo"),
                option("status"),
            ),
        },
        "cancel" | "stop" => CommandRequest::Act {
            act: if name == "stop" { Act::Stop } else { Act::Cancel },
            instance: instance(),
            reason: parse_reason(&text_option(options, "reason")),
        },
        "report" => CommandRequest::Report { instance: instance() },
        "audit" => CommandRequest::Audit {
            instance: match text_option(options, "instance_id") {
                raw if raw.trim().is_empty() => Ok(None),
                raw => parse_instance_id(&raw).map(Some).map_err(|e| (raw, e)),
            },
            actor: match option("member") {
                Some(CommandDataOptionValue::User(user)) => Some(user.get()),
                _ => None,
            },
        },
        "scan" => CommandRequest::Scan {
            url: text_option(options, "url"),
            memo: text_option(options, "memo"),
            speed: match text_option(options, "speed").as_str() {
                "" => Ok(ScanSpeed::default()),
                name => ScanSpeed::from_name(name).ok_or_else(|| name.to_owned()),
            },
        },
        "stop-all" => CommandRequest::StopAll { url: text_option(options, "url") },
        _ => CommandRequest::Unknown,
    }
}

fn jobs_filter(
    url: &str,
    memo: &str,
    status: Option<&CommandDataOptionValue>,
) -> Result<(JobFilter, bool), FilterError> {
    let status = match status {
        Some(CommandDataOptionValue::Integer(code)) => match u16::try_from(*code) {
            Ok(code) if is_status_code(code) => Some(code),
            _ => return Err(FilterError::UnknownStatus(*code)),
        },
        _ => None,
    };
    let (field, keyword) = match (url.trim(), memo.trim()) {
        (url, memo) if !url.is_empty() && !memo.is_empty() => return Err(FilterError::UrlAndMemo),
        (url, "") if !url.is_empty() => (SearchField::Url, url),
        ("", memo) if !memo.is_empty() => (SearchField::Memo, memo),
        _ => (SearchField::Any, ""),
    };
    Ok(JobFilter::fitted(field, keyword, status))
}

/// The subcommand being completed and the text typed so far.
pub fn parse_autocomplete(data: &CommandData) -> Option<(Wanted, String)> {
    let (name, options) = subcommand(data)?;
    let wanted = match name {
        "stop" => Wanted::Act(Act::Stop),
        "cancel" => Wanted::Act(Act::Cancel),
        "report" => Wanted::Report,
        _ => return None,
    };
    Some((wanted, text_option(options, "instance_id")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_ids_round_trip() {
        let ids = [
            ButtonId::Ask { act: Act::Stop, instance: 1234567890 },
            ButtonId::Ask { act: Act::Cancel, instance: 1 },
            ButtonId::Confirm {
                act: Act::Stop,
                instance: 9999999999999999999,
                origin: Some(9999999999999999999),
            },
            ButtonId::Confirm { act: Act::Cancel, instance: 5, origin: None },
            ButtonId::Keep { instance: 7 },
            ButtonId::Reason {
                act: Act::Stop,
                instance: 9999999999999999999,
                origin: Some(9999999999999999999),
            },
            ButtonId::Reason { act: Act::Cancel, instance: 5, origin: None },
            ButtonId::Page { page: 3, filter: JobFilter::default() },
            ButtonId::Refresh { page: MAX_PAGE, filter: JobFilter::default() },
            ButtonId::Report { instance: 9999999999999999999 },
            ButtonId::Audit { page: 1, filter: AuditFilter::default() },
            ButtonId::Audit {
                page: MAX_PAGE,
                filter: AuditFilter { instance: Some(9999999999999999999), actor: Some(u64::MAX / 2) },
            },
            ButtonId::Audit {
                page: 2,
                filter: AuditFilter { instance: None, actor: Some(800000000000000001) },
            },
            ButtonId::Page {
                page: 2,
                filter: JobFilter {
                    field: SearchField::Url, keyword: "a:b%c 한국".into(), status: Some(93)
                },
            },
            ButtonId::Refresh {
                page: MAX_PAGE,
                filter: JobFilter { field: SearchField::Any, keyword: String::new(), status: Some(3) },
            },
            ButtonId::Rescan { instance: 9999999999999999999 },
            ButtonId::ConfirmScan { id: new_pending_id() },
            ButtonId::ConfirmStopAll { id: "0123456789az".into() },
        ];
        for id in ids {
            let text = id.to_string();
            assert!(text.len() <= 100, "{text}");
            assert_eq!(ButtonId::parse(&text), Ok(id));
        }
        assert_eq!(ButtonId::parse("wsc:v1:stop:1234567890").unwrap().to_string(), "wsc:v1:stop:1234567890");
    }

    #[test]
    fn crafted_custom_ids_are_refused() {
        use CustomIdError::*;
        let cases = [
            ("", NotOurs),
            ("other:v1:stop:1", NotOurs),
            ("wsc:v2:stop:1", Version),
            ("wsc", Version),
            ("wsc:v1:delete:1", UnknownVerb),
            ("wsc:v1:", UnknownVerb),
            ("wsc:v1:stop", Malformed),
            ("wsc:v1:stop:", Malformed),
            ("wsc:v1:stop:abc", Malformed),
            ("wsc:v1:stop: 1000000006", Malformed),
            ("wsc:v1:confirm-stop:1000000006\n", Malformed),
            ("wsc:v1:stop:01000000006", Malformed),
            ("wsc:v1:page:02", Malformed),
            ("wsc:v1:page:2:a+93.x", Malformed),
            ("wsc:v1:stop:-1", Malformed),
            ("wsc:v1:stop:0", Malformed),
            ("wsc:v1:stop:1:2", Malformed),
            ("wsc:v1:stop:99999999999999999999", Malformed),
            ("wsc:v1:confirm-stop:1:2:3", Malformed),
            ("wsc:v1:confirm-stop:1:x", Malformed),
            ("wsc:v1:page:0", Malformed),
            ("wsc:v1:page:10001", Malformed),
            ("wsc:v1:page:+1", Malformed),
            ("wsc:v1:page:1:x.abc", Malformed),
            ("wsc:v1:page:1:u77.abc", Malformed),
            ("wsc:v1:page:1:u.%zz", Malformed),
            ("wsc:v1:page:1:a.", Malformed),
            ("wsc:v1:page:1:uabc", Malformed),
            ("wsc:v1:report:x", Malformed),
            ("wsc:v1:reason-stop", Malformed),
            ("wsc:v1:reason-stop:0", Malformed),
            ("wsc:v1:reason-cancel:1:2:3", Malformed),
            ("wsc:v1:reason-stop:1:x", Malformed),
            ("wsc:v1:reason-halt:1", UnknownVerb),
            ("wsc:v1:audit", Malformed),
            ("wsc:v1:audit:0", Malformed),
            ("wsc:v1:audit:1:u2:i1", Malformed),
            ("wsc:v1:audit:1:i1:i2", Malformed),
            ("wsc:v1:audit:1:i0", Malformed),
            ("wsc:v1:audit:1:x1", Malformed),
            ("wsc:v1:audit:1:i", Malformed),
            ("wsc:v1:audit:1:i01", Malformed),
            ("wsc:v1:audit:1:i1:u2:u3", Malformed),
            ("wsc:v1:rescan:0", Malformed),
            ("wsc:v1:rescan:1:2", Malformed),
            ("wsc:v1:confirm-scan", Malformed),
            ("wsc:v1:confirm-scan:", Malformed),
            ("wsc:v1:confirm-scan:ABCDEFGHIJKL", Malformed),
            ("wsc:v1:confirm-scan:abc", Malformed),
            ("wsc:v1:confirm-scan:abcdefghijklm", Malformed),
            ("wsc:v1:confirm-scan:abcdef-hijkl", Malformed),
            ("wsc:v1:confirm-scan:abcdefghijkl:1", Malformed),
            ("wsc:v1:confirm-stop-all:../../etc/pa", Malformed),
            ("wsc:v1:confirm-stop-all:abcdefghijk%", Malformed),
            ("wsc:v1:scan:abcdefghijkl", UnknownVerb),
        ];
        for (text, error) in cases {
            assert_eq!(ButtonId::parse(text), Err(error), "{text:?}");
        }
        assert_eq!(ButtonId::parse(&format!("wsc:v1:stop:{}", "1".repeat(120))), Err(Malformed));
    }

    #[test]
    fn long_keywords_are_shortened_to_fit_every_button() {
        for keyword in ["k".repeat(300), ":".repeat(300), "한".repeat(300), "%:a".repeat(100)] {
            for status in [None, Some(93)] {
                let (filter, shortened) = JobFilter::fitted(SearchField::Memo, &keyword, status);
                assert!(shortened);
                let id = ButtonId::Refresh { page: MAX_PAGE, filter: filter.clone() }.to_string();
                assert!(id.chars().count() <= 100, "{id}");
                assert_eq!(ButtonId::parse(&id), Ok(ButtonId::Refresh { page: MAX_PAGE, filter }));
            }
        }
        let (filter, shortened) = JobFilter::fitted(SearchField::Url, " example.com ", None);
        assert_eq!((filter.keyword.as_str(), shortened), ("example.com", false));
    }

    fn field(id: &str, value: Option<&str>) -> (String, Option<String>) {
        (id.to_owned(), value.map(str::to_owned))
    }

    #[test]
    fn modal_submissions_give_one_reason_or_a_reason_to_refuse() {
        use ReasonError::*;
        let cases = [
            (
                vec![field(REASON_FIELD, Some("  owner asked \n to stop "))],
                Ok("owner asked   to stop".to_owned()),
            ),
            (vec![field(REASON_FIELD, Some(&"한".repeat(200)))], Ok("한".repeat(200))),
            (vec![field(REASON_FIELD, Some(&"a".repeat(201)))], Err(TooLong(201))),
            (vec![field(REASON_FIELD, Some(" \n\t "))], Err(Blank)),
            (vec![field(REASON_FIELD, Some(""))], Err(Blank)),
            (vec![field(REASON_FIELD, None)], Err(Fields)),
            (vec![field("why", Some("x"))], Err(Fields)),
            (vec![field("", None)], Err(Fields)),
            (vec![], Err(Fields)),
            (vec![field(REASON_FIELD, Some("x")), field(REASON_FIELD, Some("y"))], Err(Fields)),
        ];
        for (fields, expected) in cases {
            assert_eq!(modal_reason(&fields), expected, "{fields:?}");
        }
    }

    /// Any submission: a reason of one line, trimmed, 1 to 200 characters, or a refusal; no panic.
    #[test]
    fn any_modal_submission_is_a_bounded_reason_or_refused() {
        let alphabet: Vec<char> = "ab 한@`*\n\r\t\u{2028}\u{85}\u{200B}<>#".chars().collect();
        let ids = [REASON_FIELD, "Reason", "reason ", "", "x"];
        let mut rng = fastrand::Rng::with_seed(14);
        for _ in 0..5_000 {
            let fields: Vec<_> = (0..rng.usize(0..3))
                .map(|_| {
                    let len = rng.usize(0..260);
                    let text: String = (0..len).map(|_| alphabet[rng.usize(..alphabet.len())]).collect();
                    (ids[rng.usize(..ids.len())].to_owned(), rng.bool().then_some(text))
                })
                .collect();
            if let Ok(reason) = modal_reason(&fields) {
                let n = reason.chars().count();
                assert!((1..=MAX_REASON_CHARS).contains(&n), "{reason:?}");
                assert_eq!(reason, reason.trim());
                assert_eq!(reason, super::super::text::one_line(&reason), "one line: {reason:?}");
                assert!(matches!(fields.as_slice(), [(id, Some(_))] if id == REASON_FIELD));
            }
        }
    }

    #[test]
    fn instance_ids() {
        assert_eq!(parse_instance_id("1234567890"), Ok(1234567890));
        assert_eq!(parse_instance_id(" 42 "), Ok(42));
        assert_eq!(parse_instance_id("9999999999999999999"), Ok(9999999999999999999));
        assert_eq!(parse_instance_id("abc"), Err(InstanceIdError::NotDigits));
        assert_eq!(parse_instance_id("-1"), Err(InstanceIdError::NotDigits));
        assert_eq!(parse_instance_id("1/../2"), Err(InstanceIdError::NotDigits));
        assert_eq!(parse_instance_id("12 34"), Err(InstanceIdError::NotDigits));
        assert_eq!(parse_instance_id("１２"), Err(InstanceIdError::NotDigits), "full-width digits");
        assert_eq!(parse_instance_id(&"1".repeat(30)), Err(InstanceIdError::TooLong));
        assert_eq!(parse_instance_id("00000000000000000000001"), Err(InstanceIdError::TooLong));
        assert_eq!(parse_instance_id("0"), Err(InstanceIdError::Zero));
        assert_eq!(parse_instance_id(""), Err(InstanceIdError::Empty));
    }
}
