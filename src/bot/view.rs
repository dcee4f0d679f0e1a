//! What people see: embeds, buttons and sentences, always within Discord's limits.

use serenity::all::{
    ButtonStyle, CreateActionRow, CreateAllowedMentions, CreateButton, CreateEmbed, CreateEmbedFooter,
    CreateInteractionResponseFollowup, CreateInteractionResponseMessage, CreateMessage,
    EditInteractionResponse, EditMessage, ReactionType,
};

use super::action::{Act, ButtonId, InstanceIdError};
use super::text::{code, escape, host, safe, safe_code, truncate};
use crate::wsc::{ErrorKind, Job, JobAction, JobPage, JobState};

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

/// The jobs view: one embed per job, action buttons only where they apply, paging.
pub fn jobs_page(page: &JobPage, current: u32) -> Reply {
    let last = u32::try_from(page.total_pages).unwrap_or(u32::MAX).max(1);
    if page.jobs.is_empty() {
        let content = if current > 1 && page.total > 0 {
            format!(
                "Page {current} is past the last page ({last}). Use ◀ or ask for `/wsc jobs page:{last}`."
            )
        } else {
            "No scan jobs yet. Jobs started in the NCP console show up here.".to_owned()
        };
        let mut reply = Reply::text(content);
        reply.components = vec![navigation(current.min(last + 1), last)];
        return reply;
    }
    let count = match page.total {
        1 => "1 job".to_owned(),
        n => format!("{n} jobs"),
    };
    let content = if last > 1 {
        format!("**Scan jobs** · page {current} of {last} · {count}")
    } else {
        format!("**Scan jobs** · {count}")
    };
    let mut buttons: Vec<CreateButton> = page.jobs.iter().filter_map(action_button).collect();
    let mut components = Vec::new();
    while !buttons.is_empty() {
        let rest = buttons.split_off(buttons.len().min(5));
        components.push(CreateActionRow::Buttons(std::mem::replace(&mut buttons, rest)));
    }
    components.truncate(4);
    components.push(navigation(current, last));
    Reply { content, embeds: page.jobs.iter().take(PAGE_SIZE as usize).map(job_embed).collect(), components }
}

fn navigation(current: u32, last: u32) -> CreateActionRow {
    let mut row = Vec::new();
    if current > 1 {
        row.push(
            CreateButton::new(ButtonId::Page { page: current - 1 }.to_string())
                .label("◀ Newer")
                .style(ButtonStyle::Secondary),
        );
    }
    row.push(
        CreateButton::new(ButtonId::Refresh { page: current }.to_string())
            .label("Refresh")
            .emoji(ReactionType::Unicode("🔄".into()))
            .style(ButtonStyle::Secondary),
    );
    if current < last {
        row.push(
            CreateButton::new(ButtonId::Page { page: current + 1 }.to_string())
                .label("Older ▶")
                .style(ButtonStyle::Secondary),
        );
    }
    CreateActionRow::Buttons(row)
}

/// Cancel on jobs not started, Stop on running jobs, nothing otherwise.
fn action_button(job: &Job) -> Option<CreateButton> {
    let (act, emoji) = if job.state.allows(JobAction::Stop) {
        (Act::Stop, "⏹️")
    } else if job.state.allows(JobAction::Cancel) {
        (Act::Cancel, "✖️")
    } else {
        return None;
    };
    let label = format!("{} {}", act_label(act), host(&job.start_url));
    Some(
        CreateButton::new(ButtonId::Ask { act, instance: job.instance_no }.to_string())
            .label(truncate(&label, 80))
            .emoji(ReactionType::Unicode(emoji.into()))
            .style(ButtonStyle::Danger),
    )
}

fn act_label(act: Act) -> &'static str {
    match act {
        Act::Cancel => "Cancel",
        Act::Stop => "Stop",
    }
}

/// One job: URL as title, colour by state, short inline fields. At most about 1,100
/// characters, so five fit in Discord's 6,000 per message.
pub fn job_embed(job: &Job) -> CreateEmbed {
    let label =
        if job.status_label.trim().is_empty() { "—".to_owned() } else { safe(&job.status_label, 60) };
    let mut fields = vec![
        ("Status", format!("{label}\n*{}*", safe(state_name(&job.state), 40)), true),
        ("Progress", job.progress.map(progress_bar).unwrap_or_else(|| "—".into()), true),
        ("Started", kst(job.start_date.as_deref()), true),
        ("Ended", kst(job.end_date.as_deref()), true),
        ("Crawled URLs", count(job.crawl_count), true),
        ("Vulnerabilities", count(job.scan_count), true),
    ];
    if let Some(memo) = job.memo.as_deref().filter(|m| !m.trim().is_empty()) {
        fields.push(("Memo", safe(memo, 200), false));
    }
    let title = if job.start_url.trim().is_empty() {
        "(no target URL)".to_owned()
    } else {
        truncate(&escape(&job.start_url), 200)
    };
    let mut embed = CreateEmbed::new()
        .title(title)
        .colour(state_colour(&job.state))
        .fields(fields)
        .footer(CreateEmbedFooter::new(format!("Job {}", job.instance_no)));
    if let Some(reason) = job.result_desc.as_deref().filter(|_| job.state == JobState::Failed) {
        embed = embed.description(format!("**Why it failed:** {}", safe(reason, 300)));
    }
    embed
}

pub fn state_name(state: &JobState) -> &str {
    match state {
        JobState::NotStarted => "not started",
        JobState::Running => "running",
        JobState::Finished => "finished",
        JobState::Failed => "failed",
        JobState::Expired => "report expired",
        JobState::NoAction => "ended",
        JobState::Unknown(raw) => raw,
    }
}

fn state_colour(state: &JobState) -> u32 {
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

/// WSC's times are KST already (`YYYY-MM-DD hh:mm:ss`): shown to the minute, zone named.
fn kst(value: Option<&str>) -> String {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        Some(time) if time.len() >= 16 && time.is_char_boundary(16) => {
            format!("{} KST", safe(&time[..16], 40))
        }
        Some(time) => format!("{} KST", safe(time, 40)),
        None => "—".to_owned(),
    }
}

/// The ephemeral question before a destructive action, with the target in view.
pub fn confirmation(job: &Job, act: Act, origin: Option<u64>) -> Reply {
    let (question, yes, no) = match act {
        Act::Stop => ("Stop this scan? It cannot be resumed.", "Stop scan", "Keep running"),
        Act::Cancel => ("Cancel this scheduled scan?", "Cancel scan", "Keep scheduled"),
    };
    let buttons = vec![
        CreateButton::new(ButtonId::Confirm { act, instance: job.instance_no, origin }.to_string())
            .label(yes)
            .style(ButtonStyle::Danger),
        CreateButton::new(ButtonId::Keep { instance: job.instance_no }.to_string())
            .label(no)
            .style(ButtonStyle::Secondary),
    ];
    Reply {
        content: format!("**{question}**\n{}", safe_code(&job.start_url, 300)),
        embeds: vec![job_embed(job)],
        components: vec![CreateActionRow::Buttons(buttons)],
    }
}

/// Why nothing was done: the job's state no longer allows the action.
pub fn not_applicable(job: &Job, act: Act) -> Reply {
    let what = match act {
        Act::Stop => "stop: it is not running",
        Act::Cancel => "cancel: it has already started or ended",
    };
    Reply {
        content: format!(
            "Nothing to {what} (now *{}*, {}).",
            safe(&job.status_label, 60),
            safe(state_name(&job.state), 40)
        ),
        embeds: vec![job_embed(job)],
        components: Vec::new(),
    }
}

pub fn no_such_job(instance: u64) -> Reply {
    Reply::text(format!(
        "No job {instance} is visible to the bot's NCP key. Check the number with `/wsc jobs`."
    ))
}

pub fn invalid_instance(raw: &str, error: InstanceIdError) -> Reply {
    let shown = safe_code(raw, 40);
    Reply::text(match error {
        InstanceIdError::Empty => {
            "Give the job's instance number, e.g. `1234567890` (see `/wsc jobs`).".to_owned()
        }
        InstanceIdError::NotDigits => format!(
            "{shown} is not a job number: use only the digits of the instance number, e.g. `1234567890`."
        ),
        InstanceIdError::TooLong => format!("{shown} is too long for a job number (at most 19 digits)."),
        InstanceIdError::Zero => "0 is not a job number: instance numbers start at 1.".to_owned(),
    })
}

/// Roles shown as mentions; the payloads' allowed mentions make sure they ping nobody.
pub fn denied(needed: &[u64], what: &str) -> Reply {
    if needed.is_empty() {
        return Reply::text(format!("Nobody may {what} yet: an admin must set WSC_OPERATOR_ROLE_IDS."));
    }
    let roles: Vec<String> = needed.iter().map(|id| format!("<@&{id}>")).collect();
    let needed = match roles.as_slice() {
        [one] => format!("the role {one}"),
        many => format!("one of the roles {}", many.join(", ")),
    };
    Reply::text(format!("You need {needed} to {what}. Nothing was done."))
}

pub fn action_phrase(act: Act) -> &'static str {
    match act {
        Act::Cancel => "cancel scans",
        Act::Stop => "stop scans",
    }
}

/// A WSC failure as a person can act on it, with the reference that finds it in the log.
pub fn wsc_failure(kind: ErrorKind, correlation: &str) -> Reply {
    let sentence = match kind {
        ErrorKind::Credentials => "NCP refused the bot's API key: ask the bot's admin to run `wsc-bot check` (keys, clock).",
        ErrorKind::Permission => "The bot's NCP key lacks the NCP_WEB_SECURITY_CHECKER_MANAGER policy: ask the bot's admin to attach it.",
        ErrorKind::Account => "NCP could not verify the account behind the bot's key: ask the bot's admin to check it in the NCP console.",
        ErrorKind::NotApplicable => "WSC refused: the job is not in a state that allows this.",
        ErrorKind::RateLimited => "NCP is limiting requests right now: try again in a minute.",
        ErrorKind::Unavailable => "Web Security Checker is unavailable right now: try again in a few minutes.",
        ErrorKind::Timeout => "Web Security Checker did not answer in time: try again in a moment.",
        ErrorKind::Unreachable => "The bot cannot reach Web Security Checker: ask the bot's admin to run `wsc-bot check`.",
        ErrorKind::Rejected => "WSC rejected the bot's request: ask the bot's admin to run `wsc-bot check`.",
        ErrorKind::Decode => "WSC sent an answer the bot could not read: try again; if it keeps happening, tell the bot's admin.",
    };
    Reply::text(format!("{sentence} (ref `{correlation}`)"))
}

pub fn bad_button(correlation: &str) -> Reply {
    Reply::text(format!(
        "This button is from another version of the bot or was altered, so nothing was done. Run `/wsc jobs` for fresh buttons. (ref `{correlation}`)"
    ))
}

/// What the team sees after an action: who did what to which job, and what state it was in.
pub fn public_outcome(actor_id: u64, act: Act, job: &Job) -> Reply {
    let (emoji, verb) = match act {
        Act::Stop => ("⏹️", "stopped the scan of"),
        Act::Cancel => ("✖️", "cancelled the scan of"),
    };
    let progress = job.progress.map(|p| format!(", {p}%")).unwrap_or_default();
    Reply::text(format!(
        "{emoji} <@{actor_id}> {verb} {} (job {}; it was *{}*{progress}).",
        safe_code(&job.start_url, 300),
        job.instance_no,
        safe(&job.status_label, 60),
    ))
}

pub fn done_privately(act: Act, job: &Job) -> Reply {
    let what = match act {
        Act::Stop => "Stop requested",
        Act::Cancel => "Cancelled",
    };
    Reply::text(format!(
        "{what} for {} (job {}). The channel has been told.",
        code(&host(&job.start_url)),
        job.instance_no
    ))
}

/// WSC did not confirm in time, but the job has left the state the action needed.
pub fn unconfirmed(act: Act, now: &Job) -> Reply {
    let what = match act {
        Act::Stop => "stop",
        Act::Cancel => "cancel",
    };
    Reply {
        content: format!(
            "WSC did not confirm the {what} in time, but the job is now *{}*: it most likely went through. The channel has been told.",
            safe(&now.status_label, 60)
        ),
        embeds: vec![job_embed(now)],
        components: Vec::new(),
    }
}

pub fn in_progress(act: Act) -> Reply {
    Reply::text(match act {
        Act::Stop => "Someone is already stopping this job: watch the channel for the outcome.",
        Act::Cancel => "Someone is already cancelling this job: watch the channel for the outcome.",
    })
}

pub fn working(act: Act) -> Reply {
    Reply::text(match act {
        Act::Stop => "Stopping… checking the job's state first.",
        Act::Cancel => "Cancelling… checking the job's state first.",
    })
}

pub fn kept(instance: u64) -> Reply {
    Reply::text(format!("Okay, nothing was changed for job {instance}."))
}

pub fn guild_only() -> Reply {
    Reply::text("Use this bot's commands in a server channel, where its roles apply.")
}

pub fn unknown_command() -> Reply {
    Reply::text("This command is not known to this version of the bot. Try `/wsc jobs`.")
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn denial_names_roles_as_mentions() {
        assert_eq!(
            denied(&[1, 2], "stop scans").content,
            "You need one of the roles <@&1>, <@&2> to stop scans. Nothing was done."
        );
        assert!(denied(&[], "stop scans").content.contains("WSC_OPERATOR_ROLE_IDS"));
    }
}
