//! The slash commands, as registered (bulk overwrite) at start and by `wsc-bot register`,
//! with Korean names and descriptions.

use serenity::all::{
    CommandOptionType, CreateCommand, CreateCommandOption, InstallationContext, InteractionContext,
};

use super::action::{JobFilter, MAX_PAGE, MAX_REASON_CHARS};
use super::targets::MAX_URL_CHARS;
use crate::wsc::model::STATUS_CODES;
use crate::wsc::{ScanSpeed, SearchField};

/// An option with its English and Korean name and description.
fn option(kind: CommandOptionType, name: (&str, &str), description: (&str, &str)) -> CreateCommandOption {
    CreateCommandOption::new(kind, name.0, description.0)
        .name_localized("ko", name.1)
        .description_localized("ko", description.1)
}

fn instance_id() -> CreateCommandOption {
    option(
        CommandOptionType::String,
        ("instance_id", "작업번호"),
        (
            "The job's instance number: type digits or part of the URL",
            "작업의 인스턴스 번호: 숫자나 URL 일부를 입력하세요",
        ),
    )
    .required(true)
    .set_autocomplete(true)
}

/// Longest keyword the buttons can carry (see `JobFilter::fitted`); longer ones are shortened.
/// The optional `reason` of `/wsc cancel` and `/wsc stop`.
fn reason() -> CreateCommandOption {
    option(
        CommandOptionType::String,
        ("reason", "사유"),
        ("Why: shown to the channel and kept in the audit trail", "이유: 채널에 보이고 감사 기록에 남습니다"),
    )
    .max_length(MAX_REASON_CHARS as u16)
}

pub fn max_keyword_chars() -> u16 {
    let (filter, _) = JobFilter::fitted(SearchField::Any, &"k".repeat(200), Some(93));
    filter.keyword.chars().count() as u16
}

pub fn definitions() -> Vec<CreateCommand> {
    let status = STATUS_CODES.iter().fold(
        option(
            CommandOptionType::Integer,
            ("status", "상태"),
            ("Only jobs in this state", "이 상태의 작업만"),
        ),
        |option, (code, ko, en)| option.add_int_choice_localized(*en, i32::from(*code), [("ko", *ko)]),
    );
    let keyword = |name: (&str, &str), description: (&str, &str)| {
        option(CommandOptionType::String, name, description).max_length(max_keyword_chars())
    };
    let jobs = option(
        CommandOptionType::SubCommand,
        ("jobs", "작업목록"),
        ("List scan jobs, newest first, for the whole channel", "스캔 작업을 최신순으로 채널에 보여 줍니다"),
    )
    .add_sub_option(
        option(
            CommandOptionType::Integer,
            ("page", "페이지"),
            ("Page number (5 jobs a page)", "페이지 번호 (한 쪽에 5개)"),
        )
        .min_int_value(1)
        .max_int_value(u64::from(MAX_PAGE)),
    )
    .add_sub_option(keyword(
        ("url", "url"),
        ("Only jobs whose target URL contains this", "대상 URL에 이 글자가 있는 작업만"),
    ))
    .add_sub_option(keyword(
        ("memo", "메모"),
        ("Only jobs whose memo contains this", "메모에 이 글자가 있는 작업만"),
    ))
    .add_sub_option(status)
    .add_sub_option(option(
        CommandOptionType::Boolean,
        ("private", "나만보기"),
        ("Show the list only to you", "목록을 나에게만 보여 줍니다"),
    ));
    let cancel = option(
        CommandOptionType::SubCommand,
        ("cancel", "취소"),
        ("Cancel a scan that has not started (asks to confirm)", "시작 전인 스캔을 취소합니다 (확인 후)"),
    )
    .add_sub_option(instance_id())
    .add_sub_option(reason());
    let stop = option(
        CommandOptionType::SubCommand,
        ("stop", "중지"),
        ("Stop a running scan (asks to confirm)", "진행 중인 스캔을 중지합니다 (확인 후)"),
    )
    .add_sub_option(instance_id())
    .add_sub_option(reason());
    let report = option(
        CommandOptionType::SubCommand,
        ("report", "보고서"),
        ("A finished scan's report: risks, times, domains", "완료된 스캔의 보고서: 위험도, 시간, 도메인"),
    )
    .add_sub_option(instance_id());
    let audit = option(
        CommandOptionType::SubCommand,
        ("audit", "감사기록"),
        (
            "Who asked for what, when, and what happened: only to you",
            "누가 언제 무엇을 요청했고 어떻게 되었는지: 나에게만 보입니다",
        ),
    )
    .add_sub_option(instance_id().required(false).set_autocomplete(false))
    .add_sub_option(option(
        CommandOptionType::User,
        ("member", "멤버"),
        ("Only what this member asked for", "이 멤버가 요청한 것만"),
    ));
    let speed = ScanSpeed::ALL.iter().fold(
        option(
            CommandOptionType::String,
            ("speed", "속도"),
            ("How fast to scan (default normal)", "스캔 속도 (기본: 보통)"),
        ),
        |option, speed| {
            let ko = match speed {
                ScanSpeed::Normal => "보통",
                ScanSpeed::Faster => "조금 빠르게",
                ScanSpeed::Fast => "빠르게",
            };
            option.add_string_choice_localized(speed.name(), speed.name(), [("ko", ko)])
        },
    );
    let scan = option(
        CommandOptionType::SubCommand,
        ("scan", "스캔"),
        (
            "Start a scan of an allowed host: billed (asks to confirm)",
            "허용된 호스트의 스캔을 시작합니다: 과금 (확인 후)",
        ),
    )
    .add_sub_option(
        option(
            CommandOptionType::String,
            ("url", "url"),
            ("The start URL, e.g. https://shop.example.com/", "시작 URL, 예: https://shop.example.com/"),
        )
        .required(true)
        .max_length(MAX_URL_CHARS as u16),
    )
    .add_sub_option(
        option(
            CommandOptionType::String,
            ("memo", "메모"),
            ("A note shown in the NCP console", "NCP 콘솔에 보이는 메모"),
        )
        .max_length(100),
    )
    .add_sub_option(speed);
    let stop_all = option(
        CommandOptionType::SubCommand,
        ("stop-all", "모두중지"),
        (
            "Stop every running scan, or those whose URL contains a text (asks to confirm)",
            "진행 중인 스캔을 모두, 또는 URL에 글자가 있는 것만 중지합니다 (확인 후)",
        ),
    )
    .add_sub_option(
        option(
            CommandOptionType::String,
            ("url", "url"),
            ("Only running scans whose URL contains this", "URL에 이 글자가 있는 진행 중인 스캔만"),
        )
        .max_length(100),
    );
    let wsc = CreateCommand::new("wsc")
        .description("Web Security Checker scans: list, search, cancel, stop, reports")
        .description_localized("ko", "Web Security Checker 스캔: 목록, 검색, 취소, 중지, 보고서")
        .contexts(vec![InteractionContext::Guild])
        .integration_types(vec![InstallationContext::Guild])
        .set_options(vec![jobs, cancel, stop, report, audit, scan, stop_all]);
    vec![wsc]
}
