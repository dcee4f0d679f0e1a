//! What a person asked for: slash-command options and `custom_id`s parsed into one shape.
//! `custom_id` format: `wsc:v1:<verb>[:<arg>…]`; every piece of state a click needs is in it.

use std::fmt;

use serenity::all::{CommandData, CommandDataOption, CommandDataOptionValue};

use crate::wsc::JobAction;

pub const PREFIX: &str = "wsc:v1:";
/// A job number: a positive integer of at most 19 digits (fits `u64`).
pub const MAX_INSTANCE_DIGITS: usize = 19;
pub const MAX_PAGE: u32 = 10_000;

/// The destructive actions, each confirmed before it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Act {
    Cancel,
    Stop,
}

impl Act {
    pub fn job_action(self) -> JobAction {
        match self {
            Self::Cancel => JobAction::Cancel,
            Self::Stop => JobAction::Stop,
        }
    }

    pub fn verb(self) -> &'static str {
        match self {
            Self::Cancel => "cancel",
            Self::Stop => "stop",
        }
    }
}

/// Every button the bot puts on a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ButtonId {
    /// Cancel or Stop on a job: opens the confirmation.
    Ask { act: Act, instance: u64 },
    /// The confirmation's danger button. `origin` is the public jobs message to refresh afterwards.
    Confirm { act: Act, instance: u64, origin: Option<u64> },
    /// "Keep running": closes the confirmation, changes nothing.
    Keep { instance: u64 },
    /// ◀ ▶ on the jobs view.
    Page { page: u32 },
    /// Refresh on the jobs view; the same as `Page`, but marks the page the message shows.
    Refresh { page: u32 },
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
        if custom_id.len() > 100 {
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
        Ok(match (verb, args.as_slice()) {
            ("cancel", [id]) => Self::Ask { act: Act::Cancel, instance: instance(id)? },
            ("stop", [id]) => Self::Ask { act: Act::Stop, instance: instance(id)? },
            ("confirm-cancel" | "confirm-stop", [id, rest @ ..]) if rest.len() <= 1 => Self::Confirm {
                act: if verb == "confirm-stop" { Act::Stop } else { Act::Cancel },
                instance: instance(id)?,
                origin: rest.first().map(|m| instance(m)).transpose()?,
            },
            ("keep", [id]) => Self::Keep { instance: instance(id)? },
            ("page", [p]) => Self::Page { page: page(p)? },
            ("refresh", [p]) => Self::Refresh { page: page(p)? },
            ("cancel" | "stop" | "confirm-cancel" | "confirm-stop" | "keep" | "page" | "refresh", _) => {
                return Err(CustomIdError::Malformed)
            }
            _ => return Err(CustomIdError::UnknownVerb),
        })
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
            Self::Keep { instance } => write!(f, "{PREFIX}keep:{instance}"),
            Self::Page { page } => write!(f, "{PREFIX}page:{page}"),
            Self::Refresh { page } => write!(f, "{PREFIX}refresh:{page}"),
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

/// A slash command's request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandRequest {
    Jobs {
        page: u32,
        private: bool,
    },
    /// `instance` keeps the raw text when it is not a job number, to quote it back.
    Act {
        act: Act,
        instance: Result<u64, (String, InstanceIdError)>,
    },
    Unknown,
}

pub fn parse_command(data: &CommandData) -> CommandRequest {
    if data.name != "wsc" {
        return CommandRequest::Unknown;
    }
    let Some(CommandDataOption { name, value: CommandDataOptionValue::SubCommand(options), .. }) =
        data.options.first()
    else {
        return CommandRequest::Unknown;
    };
    let option = |wanted: &str| options.iter().find(|o| o.name == wanted).map(|o| &o.value);
    match name.as_str() {
        "jobs" => CommandRequest::Jobs {
            page: match option("page") {
                Some(CommandDataOptionValue::Integer(p)) => (*p).clamp(1, i64::from(MAX_PAGE)) as u32,
                _ => 1,
            },
            private: matches!(option("private"), Some(CommandDataOptionValue::Boolean(true))),
        },
        "cancel" | "stop" => {
            let act = if name == "stop" { Act::Stop } else { Act::Cancel };
            let raw = match option("instance_id") {
                Some(CommandDataOptionValue::String(text)) => text.clone(),
                Some(CommandDataOptionValue::Integer(n)) => n.to_string(),
                _ => String::new(),
            };
            CommandRequest::Act { act, instance: parse_instance_id(&raw).map_err(|e| (raw, e)) }
        }
        _ => CommandRequest::Unknown,
    }
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
            ButtonId::Page { page: 3 },
            ButtonId::Refresh { page: MAX_PAGE },
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
            ("wsc:v1:stop:-1", Malformed),
            ("wsc:v1:stop:0", Malformed),
            ("wsc:v1:stop:1:2", Malformed),
            ("wsc:v1:stop:99999999999999999999", Malformed),
            ("wsc:v1:confirm-stop:1:2:3", Malformed),
            ("wsc:v1:confirm-stop:1:x", Malformed),
            ("wsc:v1:page:0", Malformed),
            ("wsc:v1:page:10001", Malformed),
            ("wsc:v1:page:+1", Malformed),
        ];
        for (text, error) in cases {
            assert_eq!(ButtonId::parse(text), Err(error), "{text:?}");
        }
        assert_eq!(ButtonId::parse(&format!("wsc:v1:stop:{}", "1".repeat(120))), Err(Malformed));
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
