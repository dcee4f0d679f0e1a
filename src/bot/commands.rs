//! The slash commands, as registered (bulk overwrite) at start and by `wsc-bot register`.

use serenity::all::{
    CommandOptionType, CreateCommand, CreateCommandOption, InstallationContext, InteractionContext,
};

use super::action::MAX_PAGE;

pub fn definitions() -> Vec<CreateCommand> {
    let instance_id = |what: &str| {
        CreateCommandOption::new(
            CommandOptionType::String,
            "instance_id",
            format!("The job's instance number, as shown by /wsc jobs ({what})"),
        )
        .required(true)
    };
    let wsc = CreateCommand::new("wsc")
        .description("Web Security Checker scans: list, cancel and stop")
        .contexts(vec![InteractionContext::Guild])
        .integration_types(vec![InstallationContext::Guild])
        .add_option(
            CreateCommandOption::new(
                CommandOptionType::SubCommand,
                "jobs",
                "List scan jobs, newest first, for the whole channel",
            )
            .add_sub_option(
                CreateCommandOption::new(CommandOptionType::Integer, "page", "Page number (5 jobs a page)")
                    .min_int_value(1)
                    .max_int_value(u64::from(MAX_PAGE)),
            )
            .add_sub_option(CreateCommandOption::new(
                CommandOptionType::Boolean,
                "private",
                "Show the list only to you",
            )),
        )
        .add_option(
            CreateCommandOption::new(
                CommandOptionType::SubCommand,
                "cancel",
                "Cancel a scan that has not started (asks to confirm)",
            )
            .add_sub_option(instance_id("not started yet")),
        )
        .add_option(
            CreateCommandOption::new(
                CommandOptionType::SubCommand,
                "stop",
                "Stop a running scan (asks to confirm)",
            )
            .add_sub_option(instance_id("running")),
        );
    vec![wsc]
}
