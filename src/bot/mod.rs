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
pub mod text;
pub mod view;
pub mod watch;

use std::collections::HashSet;
use std::future::Future;
use std::sync::Mutex;

use serenity::all::{
    ActionRowComponent, ButtonKind, CreateInteractionResponse, CreateInteractionResponseFollowup,
    CreateMessage, EditInteractionResponse, EditMessage, Interaction, Member, Message, MessageFlags,
};

use crate::wsc::WscClient;
use action::{parse_autocomplete, parse_command, ButtonId, CommandRequest, JobFilter, Wanted};
use cache::JobCache;
use i18n::Lang;
use policy::Roles;

/// What the core needs from Discord. Errors are for the log only.
pub trait Discord: Sync {
    fn respond(
        &self,
        interaction_id: u64,
        token: &str,
        response: CreateInteractionResponse,
    ) -> impl Future<Output = Result<(), String>> + Send;
    fn edit_original(
        &self,
        token: &str,
        edit: EditInteractionResponse,
    ) -> impl Future<Output = Result<(), String>> + Send;
    fn follow_up(
        &self,
        token: &str,
        message: CreateInteractionResponseFollowup,
    ) -> impl Future<Output = Result<(), String>> + Send;
    fn get_message(
        &self,
        channel_id: u64,
        message_id: u64,
    ) -> impl Future<Output = Result<Message, String>> + Send;
    fn edit_message(
        &self,
        channel_id: u64,
        message_id: u64,
        edit: EditMessage,
    ) -> impl Future<Output = Result<(), String>> + Send;
    /// Posts a message; returns its id.
    fn send_message(
        &self,
        channel_id: u64,
        message: CreateMessage,
    ) -> impl Future<Output = Result<u64, String>> + Send;
    /// The preferred locale of the guild a channel belongs to.
    fn channel_locale(&self, channel_id: u64) -> impl Future<Output = Result<String, String>> + Send;
}

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
    },
    /// `None` when it is for nothing the bot completes.
    Autocomplete(Option<(Wanted, String)>),
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
    pub locale: String,
    /// The guild's language, for what the whole channel sees.
    pub guild_locale: Option<String>,
    /// `None` outside a guild.
    pub actor: Option<Actor>,
    pub kind: Kind,
}

impl Incoming {
    /// `None` for kinds the bot does not handle (PING is answered by the endpoint itself).
    pub fn from_interaction(interaction: &Interaction) -> Option<Self> {
        let (id, token, channel_id, locale, guild_locale, member, kind) = match interaction {
            Interaction::Command(c) => (
                c.id,
                &c.token,
                c.channel_id,
                &c.locale,
                &c.guild_locale,
                c.member.as_deref(),
                Kind::Command(parse_command(&c.data)),
            ),
            Interaction::Component(c) => {
                let ephemeral = c.message.flags.is_some_and(|f| f.contains(MessageFlags::EPHEMERAL));
                let kind = Kind::Button {
                    custom_id: c.data.custom_id.clone(),
                    origin: (!ephemeral).then_some(c.message.id.get()),
                    shown: shown_view(&c.message),
                };
                (c.id, &c.token, c.channel_id, &c.locale, &c.guild_locale, c.member.as_ref(), kind)
            }
            Interaction::Autocomplete(a) => {
                let kind = Kind::Autocomplete(parse_autocomplete(&a.data));
                (a.id, &a.token, a.channel_id, &a.locale, &a.guild_locale, a.member.as_deref(), kind)
            }
            _ => return None,
        };
        Some(Self {
            id: id.get(),
            token: Token::new(token.as_str()),
            channel_id: channel_id.get(),
            locale: locale.clone(),
            guild_locale: guild_locale.clone(),
            actor: member.map(actor),
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
    audit_channel: Option<u64>,
    /// Jobs with a cancel or stop under way in this process: a second confirm makes no call.
    in_flight: Mutex<HashSet<u64>>,
}

impl Core {
    /// The core with the roles and audit channel of `config`.
    pub fn from_config(wsc: WscClient, config: &crate::config::Config) -> Self {
        let roles =
            Roles { viewers: config.viewer_role_ids.clone(), operators: config.operator_role_ids.clone() };
        Self::new(wsc, roles, config.audit_channel_id)
    }

    /// The scan-state watcher for `channel_id`, sharing this core's WSC client.
    pub fn watcher(&self, channel_id: u64, interval: std::time::Duration) -> watch::Watcher {
        watch::Watcher::new(self.wsc.clone(), channel_id, interval)
    }

    pub fn new(wsc: WscClient, roles: Roles, audit_channel: Option<u64>) -> Self {
        Self {
            cache: JobCache::new(wsc.clone()),
            wsc,
            roles,
            audit_channel,
            in_flight: Mutex::new(HashSet::new()),
        }
    }
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
}
