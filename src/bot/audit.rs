//! One structured event per attempted action (tracing target `audit`), and the line the audit
//! channel receives. Text from WSC or users is escaped so it cannot forge lines or mentions.

use super::action::Act;
use super::text::{safe, safe_code};
use crate::wsc::ErrorKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// About to call WSC: written first, so a crash mid-call still leaves who asked for what.
    /// The outcome follows under the same correlation id.
    Attempted,
    /// WSC accepted the action.
    Done,
    /// The member lacks the role; WSC saw no call.
    Denied,
    /// The job's state does not allow it (found before calling, or WSC's 901).
    NotApplicable,
    /// No such job is visible.
    NotFound,
    /// Another confirm for the same job is under way; WSC saw no call.
    AlreadyInProgress,
    /// Discord did not take the acknowledgement, so nothing was done; WSC saw no call.
    Unanswered,
    /// WSC's answer was lost, cut or late, but the job has left the state the action needs.
    Unconfirmed,
    /// The bot stopped before WSC answered, and the job is still in the state the action needs:
    /// most likely nothing was done (settled after a restart).
    Abandoned,
    Failed(ErrorKind),
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Self::Attempted => "attempted",
            Self::Done => "done",
            Self::Denied => "denied",
            Self::NotApplicable => "not_applicable",
            Self::NotFound => "not_found",
            Self::AlreadyInProgress => "already_in_progress",
            Self::Unanswered => "unanswered",
            Self::Unconfirmed => "unconfirmed",
            Self::Abandoned => "abandoned",
            Self::Failed(kind) => kind.name(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct AuditEvent {
    /// When it happened, in milliseconds since the Unix epoch (written later if the store was
    /// down then).
    pub at_ms: i64,
    pub correlation: String,
    /// Discord's id of the interaction that asked.
    pub interaction: u64,
    pub actor_id: u64,
    pub actor_name: String,
    pub matched_role: Option<u64>,
    pub act: Act,
    pub instance: u64,
    pub target_url: Option<String>,
    pub outcome: Outcome,
    pub wsc_code: Option<String>,
    pub request_id: Option<String>,
    pub latency_ms: u64,
    /// Why, when the person said.
    pub reason: Option<String>,
}

impl AuditEvent {
    /// The event as the store keeps it.
    pub fn record(&self) -> super::ports::AuditRecord {
        super::ports::AuditRecord {
            at_ms: self.at_ms,
            correlation: self.correlation.clone(),
            interaction: self.interaction,
            actor_id: self.actor_id,
            actor_name: self.actor_name.clone(),
            matched_role: self.matched_role,
            action: self.act.verb().to_owned(),
            instance: self.instance,
            target_url: self.target_url.clone(),
            outcome: self.outcome.name().to_owned(),
            wsc_code: self.wsc_code.clone(),
            request_id: self.request_id.clone(),
            latency_ms: self.latency_ms,
            reason: self.reason.clone(),
        }
    }

    pub fn emit(&self) {
        tracing::info!(
            target: "audit",
            correlation = %self.correlation,
            interaction = self.interaction,
            actor_id = self.actor_id,
            actor_name = %self.actor_name,
            matched_role = self.matched_role,
            action = self.act.verb(),
            instance = self.instance,
            target_url = self.target_url.as_deref(),
            outcome = self.outcome.name(),
            wsc_code = self.wsc_code.as_deref(),
            request_id = self.request_id.as_deref(),
            latency_ms = self.latency_ms,
            reason = self.reason.as_deref(),
            "{}",
            if self.outcome == Outcome::Attempted { "calling WSC" } else { "action ended" }
        );
    }

    /// One line for the audit channel; mentions render but the message pings nobody.
    pub fn line(&self) -> String {
        let target =
            self.target_url.as_deref().map(|url| format!(" {}", safe_code(url, 200))).unwrap_or_default();
        let role = self.matched_role.map(|r| format!(" as <@&{r}>")).unwrap_or_default();
        let code =
            self.wsc_code.as_deref().map(|c| format!(" · NCP code {}", safe(c, 20))).unwrap_or_default();
        let request = self
            .request_id
            .as_deref()
            .map(|r| format!(" · request {}", safe_code(r, 80)))
            .unwrap_or_default();
        let reason = self.reason.as_deref().map(|r| format!(" · {}", safe(r, 200))).unwrap_or_default();
        format!(
            "`{}` **{}** job {}{target} by <@{}> ({}){role} · {} ms · ref `{}`{code}{request}{reason}",
            self.act.verb(),
            self.outcome.name(),
            self.instance,
            self.actor_id,
            safe(&self.actor_name, 40),
            self.latency_ms,
            self.correlation,
        )
    }
}

/// An interaction from outside the served guilds: another server, a DM or a user install.
/// Logged only: posting it would let strangers write into the team's audit channel.
pub fn refused(correlation: &str, interaction: u64, user_id: u64, guild_id: Option<u64>, kind: &str) {
    tracing::warn!(
        target: "audit",
        correlation = %correlation,
        interaction,
        actor_id = user_id,
        guild_id,
        kind,
        outcome = "refused",
        "refused an interaction from outside the served guilds"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_forged_url_stays_on_one_line_and_mentions_nobody_new() {
        let event = AuditEvent {
            at_ms: 0,
            correlation: "ABC234".into(),
            interaction: 5,
            actor_id: 42,
            actor_name: "mallory\n`stop` **done** job 1 by <@1>".into(),
            matched_role: Some(7),
            act: Act::Stop,
            instance: 1000000006,
            target_url: Some("https://x.example/`\n@everyone <@&1>".into()),
            outcome: Outcome::Done,
            wsc_code: None,
            request_id: Some("req-1".into()),
            latency_ms: 12,
            reason: None,
        };
        let line = event.line();
        assert!(!line.contains('\n'));
        assert!(line.contains("`https://x.example/ˋ @everyone <@&1>`"), "inert inside a code span: {line}");
        assert!(!line.contains("<@1>"), "{line}");
        assert!(line.contains("<@42>") && line.contains("<@&7>"));
        assert!(line.starts_with("`stop` **done** job 1000000006"));
    }
}
