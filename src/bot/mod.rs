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
    ActionRowComponent, AuthorizingIntegrationOwner, AuthorizingIntegrationOwners, ButtonKind,
    CreateInteractionResponse, CreateInteractionResponseFollowup, CreateMessage, EditInteractionResponse,
    EditMessage, GuildId, Interaction, InteractionContext, Member, Message, MessageFlags, User,
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
    owners: &'a AuthorizingIntegrationOwners,
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
                    owners: &c.authorizing_integration_owners,
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
                };
                let common = Common {
                    guild_id: c.guild_id,
                    context: c.context,
                    owners: &c.authorizing_integration_owners,
                    user: &c.user,
                    member: c.member.as_ref(),
                };
                (c.id, &c.token, c.channel_id, &c.locale, &c.guild_locale, common, kind)
            }
            Interaction::Autocomplete(a) => {
                let kind = Kind::Autocomplete(parse_autocomplete(&a.data));
                let common = Common {
                    guild_id: a.guild_id,
                    context: a.context,
                    owners: &a.authorizing_integration_owners,
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
        let installed_here =
            self.owners.0.iter().any(
                |owner| matches!(owner, AuthorizingIntegrationOwner::GuildInstall(Some(g)) if *g == guild),
            );
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
    /// Jobs with a cancel or stop under way in this process: a second confirm makes no call.
    in_flight: Mutex<HashSet<u64>>,
}

impl Core {
    /// The core with the roles and audit channel of `config`.
    pub fn from_config(wsc: WscClient, config: &crate::config::Config) -> Self {
        let roles =
            Roles { viewers: config.viewer_role_ids.clone(), operators: config.operator_role_ids.clone() };
        Self::new(wsc, roles, config.discord_guild_ids.clone(), config.audit_channel_id)
    }

    /// Whether `incoming` is from one of the served guilds, through the bot's install there.
    pub fn serves(&self, incoming: &Incoming) -> bool {
        incoming.guild_installed && incoming.guild_id.is_some_and(|guild| self.guilds.contains(&guild))
    }

    /// The scan-state watcher for `channel_id`, sharing this core's WSC client.
    pub fn watcher(&self, channel_id: u64, interval: std::time::Duration) -> watch::Watcher {
        watch::Watcher::new(self.wsc.clone(), channel_id, interval)
    }

    pub fn new(wsc: WscClient, roles: Roles, guilds: Vec<u64>, audit_channel: Option<u64>) -> Self {
        Self {
            cache: JobCache::new(wsc.clone()),
            wsc,
            roles,
            guilds,
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
}
