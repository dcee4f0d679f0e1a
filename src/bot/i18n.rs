//! One message catalogue, English and Korean. The macro makes a key without both texts a
//! compile error; a test checks that both texts of a key take the same `{placeholders}`.

/// The language of a reply: Korean for Discord locale `ko`, English otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    En,
    Ko,
}

impl Lang {
    pub fn from_locale(locale: &str) -> Self {
        if locale == "ko" || locale.starts_with("ko-") {
            Self::Ko
        } else {
            Self::En
        }
    }
}

macro_rules! catalogue {
    ($($key:ident => $en:literal, $ko:literal;)*) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Msg { $($key),* }

        impl Msg {
            pub const ALL: &'static [Msg] = &[$(Msg::$key),*];

            pub fn text(self, lang: Lang) -> &'static str {
                match (self, lang) {
                    $((Msg::$key, Lang::En) => $en, (Msg::$key, Lang::Ko) => $ko,)*
                }
            }
        }
    };
}

catalogue! {
    JobsPaged => "**Scan jobs** · page {page} of {last} · {count}", "**스캔 작업** · {last}쪽 중 {page}쪽 · {count}";
    JobsSingle => "**Scan jobs** · {count}", "**스캔 작업** · {count}";
    JobCount => "{n} job(s)", "작업 {n}개";
    FilterLine => "Filter: {filter}", "필터: {filter}";
    FilterUrl => "URL contains {keyword}", "URL에 {keyword} 포함";
    FilterMemo => "memo contains {keyword}", "메모에 {keyword} 포함";
    FilterAny => "any field contains {keyword}", "어느 항목이든 {keyword} 포함";
    FilterStatus => "status {status}", "상태 {status}";
    KeywordShortened => "(the keyword was shortened to {n} characters so the buttons can carry it)", "(버튼에 담을 수 있도록 키워드를 {n}자로 줄였습니다)";
    NoJobs => "No scan jobs yet. Jobs started in the NCP console show up here.", "아직 스캔 작업이 없습니다. NCP 콘솔에서 시작한 작업이 여기에 표시됩니다.";
    NoMatches => "No jobs match this filter.", "이 필터에 맞는 작업이 없습니다.";
    PastLastPage => "Page {page} is past the last page ({last}): use ◀ to go back.", "{page}쪽은 마지막 쪽({last}쪽)을 넘었습니다: ◀ 버튼으로 돌아가세요.";
    Newer => "◀ Newer", "◀ 최신";
    Older => "Older ▶", "이전 ▶";
    Refresh => "Refresh", "새로고침";
    AsOfSeconds => "As of {n} s ago · 🔄 Refresh asks WSC again", "{n}초 전 기준 · 🔄 새로고침은 WSC에 다시 묻습니다";
    AsOfMinutes => "As of {n} min ago · 🔄 Refresh asks WSC again", "{n}분 전 기준 · 🔄 새로고침은 WSC에 다시 묻습니다";
    StopButton => "Stop {host}", "중지 {host}";
    CancelButton => "Cancel {host}", "취소 {host}";
    ReportButton => "Report {host}", "보고서 {host}";
    FieldStatus => "Status", "상태";
    FieldProgress => "Progress", "진행률";
    FieldStarted => "Started", "시작";
    FieldEnded => "Ended", "종료";
    FieldCrawled => "Crawled URLs", "수집 URL";
    FieldVulnerabilities => "Vulnerabilities", "취약점";
    FieldMemo => "Memo", "메모";
    JobFooter => "Job {id}", "작업 {id}";
    NoTargetUrl => "(no target URL)", "(대상 URL 없음)";
    WhyFailed => "**Why it failed:** {reason}", "**실패 원인:** {reason}";
    StateNotStarted => "not started", "시작 전";
    StateRunning => "running", "진행 중";
    StateFinished => "finished", "완료";
    StateFailed => "failed", "실패";
    StateExpired => "report expired", "보고서 만료";
    StateEnded => "ended", "종료됨";
    ConfirmStop => "**Stop this scan? It cannot be resumed.**", "**이 스캔을 중지할까요? 다시 이어서 할 수 없습니다.**";
    ConfirmStopYes => "Stop scan", "스캔 중지";
    ConfirmStopNo => "Keep running", "계속 진행";
    ConfirmCancel => "**Cancel this scheduled scan?**", "**예약된 이 스캔을 취소할까요?**";
    ConfirmCancelYes => "Cancel scan", "스캔 취소";
    ConfirmCancelNo => "Keep scheduled", "예약 유지";
    NothingToStop => "Nothing to stop: it is not running (now *{label}*, {state}).", "중지할 것이 없습니다: 진행 중이 아닙니다 (현재 *{label}*, {state}).";
    NothingToCancel => "Nothing to cancel: it has already started or ended (now *{label}*, {state}).", "취소할 것이 없습니다: 이미 시작했거나 끝났습니다 (현재 *{label}*, {state}).";
    NoSuchJob => "No job {id} is visible to the bot's NCP key. Check the number with `/wsc jobs`.", "봇의 NCP 키로 볼 수 있는 {id}번 작업이 없습니다. `/wsc jobs`로 번호를 확인하세요.";
    InstanceEmpty => "Give the job's instance number, e.g. `1234567890` (see `/wsc jobs`).", "작업의 인스턴스 번호를 입력하세요. 예: `1234567890` (`/wsc jobs` 참고).";
    InstanceNotDigits => "{input} is not a job number: use only the digits of the instance number, e.g. `1234567890`.", "{input}은(는) 작업 번호가 아닙니다: 인스턴스 번호의 숫자만 입력하세요. 예: `1234567890`.";
    InstanceTooLong => "{input} is too long for a job number (at most 19 digits).", "{input}은(는) 작업 번호로는 너무 깁니다 (최대 19자리).";
    InstanceZero => "0 is not a job number: instance numbers start at 1.", "0은 작업 번호가 아닙니다: 인스턴스 번호는 1부터 시작합니다.";
    RolesOne => "the role {roles}", "{roles}";
    RolesMany => "one of the roles {roles}", "{roles} 중 하나의";
    DeniedView => "You need {roles} to see scan jobs. Nothing was done.", "스캔 작업을 보려면 {roles} 역할이 필요합니다. 아무것도 바뀌지 않았습니다.";
    DeniedStop => "You need {roles} to stop scans. Nothing was done.", "스캔을 중지하려면 {roles} 역할이 필요합니다. 아무것도 바뀌지 않았습니다.";
    DeniedCancel => "You need {roles} to cancel scans. Nothing was done.", "스캔을 취소하려면 {roles} 역할이 필요합니다. 아무것도 바뀌지 않았습니다.";
    NobodyMayAct => "Nobody may cancel or stop scans yet: an admin must set WSC_OPERATOR_ROLE_IDS. Nothing was done.", "아직 아무도 스캔을 취소하거나 중지할 수 없습니다: 관리자가 WSC_OPERATOR_ROLE_IDS를 설정해야 합니다. 아무것도 바뀌지 않았습니다.";
    ErrCredentials => "NCP refused the bot's API key: ask the bot's admin to run `wsc-bot check` (keys, clock).", "NCP가 봇의 API 키를 거부했습니다: 봇 관리자에게 `wsc-bot check` 실행을 요청하세요 (키, 시계).";
    ErrPermission => "The bot's NCP key lacks the NCP_WEB_SECURITY_CHECKER_MANAGER policy: ask the bot's admin to attach it.", "봇의 NCP 키에 NCP_WEB_SECURITY_CHECKER_MANAGER 정책이 없습니다: 봇 관리자에게 정책 연결을 요청하세요.";
    ErrAccount => "NCP could not verify the account behind the bot's key: ask the bot's admin to check it in the NCP console.", "NCP가 봇 키의 계정을 확인하지 못했습니다: 봇 관리자에게 NCP 콘솔에서 확인을 요청하세요.";
    ErrNotApplicable => "WSC refused: the job is not in a state that allows this.", "WSC가 거부했습니다: 작업이 이 동작을 허용하는 상태가 아닙니다.";
    ErrRateLimited => "NCP is limiting requests right now: try again in a minute.", "지금 NCP가 요청을 제한하고 있습니다: 1분 뒤에 다시 시도하세요.";
    ErrUnavailable => "Web Security Checker is unavailable right now: try again in a few minutes.", "지금 Web Security Checker를 사용할 수 없습니다: 몇 분 뒤에 다시 시도하세요.";
    ErrTimeout => "Web Security Checker did not answer in time: try again in a moment.", "Web Security Checker가 제시간에 응답하지 않았습니다: 잠시 뒤에 다시 시도하세요.";
    ErrUnreachable => "The bot cannot reach Web Security Checker: ask the bot's admin to run `wsc-bot check`.", "봇이 Web Security Checker에 연결할 수 없습니다: 봇 관리자에게 `wsc-bot check` 실행을 요청하세요.";
    ErrRejected => "WSC rejected the bot's request: ask the bot's admin to run `wsc-bot check`.", "WSC가 봇의 요청을 거부했습니다: 봇 관리자에게 `wsc-bot check` 실행을 요청하세요.";
    ErrDecode => "WSC sent an answer the bot could not read: try again; if it keeps happening, tell the bot's admin.", "WSC가 봇이 읽을 수 없는 응답을 보냈습니다: 다시 시도하고, 계속되면 봇 관리자에게 알려 주세요.";
    Reference => "(ref `{ref}`)", "(참조 `{ref}`)";
    BadButton => "This button is from another version of the bot or was altered, so nothing was done. Run `/wsc jobs` for fresh buttons.", "다른 버전의 봇 버튼이거나 변조된 버튼이라 아무것도 하지 않았습니다. `/wsc jobs`로 새 버튼을 받으세요.";
    PublicStopped => "⏹️ <@{actor}> stopped the scan of {url} (job {id}; it was *{label}*{progress}).", "⏹️ <@{actor}> 님이 {url} 스캔을 중지했습니다 (작업 {id}, 당시 *{label}*{progress}).";
    PublicCancelled => "✖️ <@{actor}> cancelled the scan of {url} (job {id}; it was *{label}*{progress}).", "✖️ <@{actor}> 님이 {url} 스캔을 취소했습니다 (작업 {id}, 당시 *{label}*{progress}).";
    DoneStop => "Stop requested for {host} (job {id}). The channel has been told.", "{host} 스캔 중지를 요청했습니다 (작업 {id}). 채널에 알렸습니다.";
    DoneCancel => "Cancelled {host} (job {id}). The channel has been told.", "{host} 스캔을 취소했습니다 (작업 {id}). 채널에 알렸습니다.";
    Unconfirmed => "WSC's answer did not come through, but the job is now *{label}*: the action most likely went through. The channel has been told.", "WSC의 응답을 받지 못했지만 작업이 지금 *{label}* 상태입니다: 요청이 처리되었을 가능성이 큽니다. 채널에 알렸습니다.";
    InProgressStop => "Someone is already stopping this job: watch the channel for the outcome.", "다른 사람이 이미 이 작업을 중지하고 있습니다: 결과는 채널에서 확인하세요.";
    InProgressCancel => "Someone is already cancelling this job: watch the channel for the outcome.", "다른 사람이 이미 이 작업을 취소하고 있습니다: 결과는 채널에서 확인하세요.";
    WorkingStop => "Stopping… checking the job's state first.", "중지하는 중… 먼저 작업 상태를 확인합니다.";
    WorkingCancel => "Cancelling… checking the job's state first.", "취소하는 중… 먼저 작업 상태를 확인합니다.";
    Kept => "Okay, nothing was changed for job {id}.", "알겠습니다. 작업 {id}은(는) 그대로 둡니다.";
    NotServedHere => "This bot works only in its own team's server. Nothing was done.", "이 봇은 자기 팀의 서버에서만 동작합니다. 아무것도 하지 않았습니다.";
    UnknownCommand => "This command is not known to this version of the bot. Try `/wsc jobs`.", "이 버전의 봇은 이 명령을 모릅니다. `/wsc jobs`를 사용해 보세요.";
    UrlAndMemo => "Give either url or memo, not both: WSC searches one field at a time.", "url과 memo 중 하나만 입력하세요: WSC는 한 번에 한 항목만 검색합니다.";
    UnknownStatus => "{status} is not one of WSC's status codes: pick one from the list.", "{status}은(는) WSC 상태 코드가 아닙니다: 목록에서 고르세요.";
    ReportTitle => "Report · {host}", "보고서 · {host}";
    RiskTotal => "Total", "전체";
    RiskHigh => "High", "높음";
    RiskMedium => "Medium", "중간";
    RiskLow => "Low", "낮음";
    CrawlTime => "Crawl time", "수집 시간";
    ScanTime => "Scan time", "진단 시간";
    ScannedDomains => "Scanned domains", "진단 도메인";
    Categories => "Main vulnerability categories", "주요 취약점 유형";
    ReportDate => "Report date", "보고서 날짜";
    ReportExpired => "The report of job {id} has expired: its retention period is over.", "작업 {id}의 보고서는 보관 기간이 지나 만료되었습니다.";
    WatchStartsSoon => "⏰ Scan starts in {minutes} min: {url} (job {id}). If it must not run, cancel it here.", "⏰ {minutes}분 뒤 스캔이 시작됩니다: {url} (작업 {id}). 실행하면 안 된다면 여기서 취소하세요.";
    WatchStarted => "▶️ Scan started: {url} (job {id}).", "▶️ 스캔이 시작되었습니다: {url} (작업 {id}).";
    WatchFinished => "✅ Scan finished: {url} (job {id}). {findings}", "✅ 스캔이 완료되었습니다: {url} (작업 {id}). {findings}";
    WatchRisks => "Vulnerabilities: 🔴 {high} high · 🟠 {medium} medium · 🟡 {low} low ({total} in all).", "취약점: 🔴 높음 {high} · 🟠 중간 {medium} · 🟡 낮음 {low} (전체 {total}).";
    WatchCount => "Vulnerabilities: {total}.", "취약점: {total}개.";
    WatchFailed => "❌ Scan failed: {url} (job {id}).", "❌ 스캔이 실패했습니다: {url} (작업 {id}).";
    WatchCancelled => "✖️ Scan cancelled: {url} (job {id}).", "✖️ 스캔이 취소되었습니다: {url} (작업 {id}).";
    WatchStopped => "⏹️ Scan stopped: {url} (job {id}).", "⏹️ 스캔이 중지되었습니다: {url} (작업 {id}).";
    FieldReason => "Reason", "사유";
    ConfirmStopWithReason => "Stop with reason…", "사유를 적고 중지…";
    ConfirmCancelWithReason => "Cancel with reason…", "사유를 적고 취소…";
    ReasonTitleStop => "Why stop job {id}?", "작업 {id} 중지 사유";
    ReasonTitleCancel => "Why cancel job {id}?", "작업 {id} 취소 사유";
    ReasonLabel => "Reason (the channel will see it)", "사유 (채널에 공개됩니다)";
    ReasonPlaceholder => "e.g. the site's owner asked us to stop", "예: 사이트 담당자가 중지를 요청함";
    ReasonTooLong => "The reason has {n} characters; at most {max} fit. Nothing was done.", "사유가 {n}자입니다. 최대 {max}자까지 쓸 수 있습니다. 아무것도 하지 않았습니다.";
    ReasonMissing => "The reason form came back empty or altered, so nothing was done. Try again from the confirmation.", "사유 양식이 비었거나 변조되어 아무것도 하지 않았습니다. 확인 메시지에서 다시 시도하세요.";
    PublicReason => "Reason: {reason}", "사유: {reason}";
    AuditTitle => "**Audit trail** · page {page}", "**감사 기록** · {page}쪽";
    AuditOfJob => "job {id}", "작업 {id}";
    AuditOfMember => "asked by <@{member}>", "요청자 <@{member}>";
    AuditEmpty => "No audit events here.", "여기에는 감사 기록이 없습니다.";
    AuditUnavailable => "The audit trail cannot be read right now: try again in a minute; the bot's log has every event.", "지금은 감사 기록을 읽을 수 없습니다: 1분 뒤에 다시 시도하세요. 봇의 로그에는 모든 기록이 있습니다.";
    AuditEntry => "{action} · {outcome} · job {id}", "{action} · {outcome} · 작업 {id}";
    AuditBy => "{when} · <@{actor}> ({name})", "{when} · <@{actor}> ({name}) 님의 요청";
    DeniedScan => "You need {roles} to start scans. Nothing was done.", "스캔을 시작하려면 {roles} 역할이 필요합니다. 아무것도 바뀌지 않았습니다.";
    ScanOff => "Scanning from chat is off: an admin must list the hosts it may target in WSC_SCAN_TARGETS (e.g. `shop.example.com, *.example.com`). Nothing was started.", "채팅에서 스캔 시작은 꺼져 있습니다: 관리자가 WSC_SCAN_TARGETS에 대상 호스트를 지정해야 합니다 (예: `shop.example.com, *.example.com`). 아무것도 시작하지 않았습니다.";
    ScanNotAUrl => "{input} is not a URL: give the full address, e.g. `https://shop.example.com/`. Nothing was started.", "{input}은(는) URL이 아닙니다: 전체 주소를 입력하세요. 예: `https://shop.example.com/`. 아무것도 시작하지 않았습니다.";
    ScanScheme => "Only http and https URLs can be scanned. Nothing was started.", "http와 https URL만 스캔할 수 있습니다. 아무것도 시작하지 않았습니다.";
    ScanCredentials => "Leave the user name and password out of the URL: it is shown to the team and kept in the console. Nothing was started.", "URL에서 사용자 이름과 비밀번호를 빼 주세요: URL은 팀에 보이고 콘솔에 남습니다. 아무것도 시작하지 않았습니다.";
    ScanTooLong => "That URL is too long (at most {max} characters). Nothing was started.", "URL이 너무 깁니다 (최대 {max}자). 아무것도 시작하지 않았습니다.";
    ScanNotListed => "{host} is not among the hosts that may be scanned from chat (WSC_SCAN_TARGETS). Nothing was started.", "{host}은(는) 채팅에서 스캔할 수 있는 호스트(WSC_SCAN_TARGETS)가 아닙니다. 아무것도 시작하지 않았습니다.";
    ScanSpeedUnknown => "{speed} is not a scan speed: pick normal, faster or fast.", "{speed}은(는) 스캔 속도가 아닙니다: normal, faster, fast 중에서 고르세요.";
    SpeedNormal => "normal", "보통";
    SpeedFaster => "faster", "조금 빠르게";
    SpeedFast => "fast", "빠르게";
    ConfirmScan => "**Start this scan? Every scan is billed by NCP, and it starts at once.**", "**이 스캔을 시작할까요? 스캔마다 NCP 요금이 부과되며 바로 시작됩니다.**";
    ConfirmRescan => "**Rescan job {id}? Every scan is billed by NCP, and it starts at once.**", "**작업 {id}을(를) 재진단할까요? 스캔마다 NCP 요금이 부과되며 바로 시작됩니다.**";
    ScanSpeedLine => "Speed: **{speed}**", "속도: **{speed}**";
    ScanPrecondition => "NCP allows only servers hosted on NCP as targets (others go through the console); starting it means taking responsibility for scanning that server. This confirmation expires in 15 minutes.", "NCP는 NCP에서 운영하는 서버만 대상으로 허용합니다 (그 외는 콘솔에서 진행). 시작하면 해당 서버 스캔에 대한 책임을 지는 것입니다. 이 확인은 15분 뒤 만료됩니다.";
    ConfirmScanYes => "Start scan (billed)", "스캔 시작 (과금)";
    RescanButton => "Rescan job {id}", "작업 {id} 재진단";
    NothingToRescan => "Nothing to rescan: WSC does not offer a rescan of this job (now *{label}*, {state}).", "재진단할 수 없습니다: WSC가 이 작업의 재진단을 허용하지 않습니다 (현재 *{label}*, {state}).";
    PendingExpired => "This confirmation has expired or was already used, so nothing was done. Run the command again.", "이 확인은 만료되었거나 이미 사용되어 아무것도 하지 않았습니다. 명령을 다시 실행하세요.";
    PendingStoreDown => "The bot cannot keep or read this request right now (its database is unreachable), so nothing was done. Try again in a minute.", "지금은 봇이 이 요청을 저장하거나 읽을 수 없어 (데이터베이스 연결 불가) 아무것도 하지 않았습니다. 1분 뒤에 다시 시도하세요.";
    WorkingScan => "Starting the scan…", "스캔을 시작하는 중…";
    PublicStarted => "🚀 <@{actor}> started a scan of {url} from chat (job {id}, speed {speed}). It is billed by NCP.", "🚀 <@{actor}> 님이 채팅에서 {url} 스캔을 시작했습니다 (작업 {id}, 속도 {speed}). NCP 요금이 부과됩니다.";
    DoneScan => "Scan of {host} started (job {id}). The channel has been told.", "{host} 스캔을 시작했습니다 (작업 {id}). 채널에 알렸습니다.";
    ScanNotListedYet => "WSC accepted the scan of {url}, but it does not show in the job list yet: check `/wsc jobs` in a minute.", "WSC가 {url} 스캔을 접수했지만 아직 작업 목록에 보이지 않습니다: 1분 뒤 `/wsc jobs`로 확인하세요.";
    ScanOutcomeUnknown => "WSC did not answer, and no new scan of this URL shows in the job list: it most likely did not start. Check `/wsc jobs` before trying again, as every scan is billed.", "WSC가 응답하지 않았고 이 URL의 새 스캔이 작업 목록에 없습니다: 시작되지 않았을 가능성이 큽니다. 스캔마다 과금되니 다시 시도하기 전에 `/wsc jobs`로 확인하세요.";
    ScanRefusedByWsc => "WSC refused the scan (NCP code {code}): check that the URL answers and that the server is hosted on NCP.", "WSC가 스캔을 거부했습니다 (NCP 코드 {code}): URL이 응답하는지, 서버가 NCP에서 운영되는지 확인하세요.";
    NothingRunning => "No scan is running{filter}: nothing to stop.", "진행 중인 스캔이 없습니다{filter}: 중지할 것이 없습니다.";
    StopAllFilter => " whose URL contains {keyword}", " (URL에 {keyword} 포함)";
    ConfirmStopAll => "**Stop these {n} running scan(s){filter}? They cannot be resumed.** Jobs that start after this message are not touched.", "**진행 중인 스캔 {n}개{filter}를 중지할까요? 다시 이어서 할 수 없습니다.** 이 메시지 뒤에 시작한 작업은 건드리지 않습니다.";
    ConfirmStopAllYes => "Stop {n} scans", "스캔 {n}개 중지";
    AndMore => "…and {n} more", "…외 {n}개";
    WorkingStopAll => "Stopping {n} scans…", "스캔 {n}개를 중지하는 중…";
    PublicStopAll => "⏹️ <@{actor}> stopped running scans{filter}: {stopped} stopped, {finished} had already finished, {failed} failed.", "⏹️ <@{actor}> 님이 진행 중인 스캔{filter}을 중지했습니다: {stopped}개 중지, {finished}개 이미 종료, {failed}개 실패.";
    DoneStopAll => "Done: {stopped} stopped, {finished} had already finished, {failed} failed. The channel has been told.", "완료: {stopped}개 중지, {finished}개 이미 종료, {failed}개 실패. 채널에 알렸습니다.";
    StopAllStopped => "Stopped: {jobs}", "중지함: {jobs}";
    StopAllFinished => "Had already finished: {jobs}", "이미 종료됨: {jobs}";
    StopAllBusy => "Already being stopped by someone else: {jobs}", "다른 사람이 이미 중지 중: {jobs}";
    StopAllFailed => "Failed: {jobs}", "실패: {jobs}";
    ReportNotReady => "Job {id} has no report: the scan is *{label}* ({state}).", "작업 {id}에는 보고서가 없습니다: 스캔이 *{label}* ({state}) 상태입니다.";
}

/// Fills `{name}` placeholders in one pass, so a value can never introduce a placeholder.
pub fn fill(template: &str, args: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let known = after
            .find('}')
            .and_then(|end| args.iter().find(|(k, _)| *k == &after[..end]).map(|(_, v)| (v, end)));
        match known {
            Some((value, end)) => {
                out.push_str(value);
                rest = &after[end + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// A message in `lang` with its placeholders filled.
pub fn t(lang: Lang, msg: Msg, args: &[(&str, &str)]) -> String {
    fill(msg.text(lang), args)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placeholders(text: &str) -> Vec<String> {
        let mut names: Vec<String> = text
            .split('{')
            .skip(1)
            .filter_map(|part| part.split_once('}').map(|(name, _)| name.to_owned()))
            .collect();
        names.sort();
        names
    }

    #[test]
    fn every_key_has_both_texts_with_the_same_placeholders() {
        for msg in Msg::ALL {
            let (en, ko) = (msg.text(Lang::En), msg.text(Lang::Ko));
            assert!(!en.trim().is_empty() && !ko.trim().is_empty(), "{msg:?}");
            assert_eq!(placeholders(en), placeholders(ko), "{msg:?}");
            assert_ne!(en, ko, "{msg:?} is not translated");
        }
    }

    #[test]
    fn filling_is_one_pass() {
        assert_eq!(fill("a {x} b {y}", &[("x", "{y}"), ("y", "2")]), "a {y} b 2");
        assert_eq!(fill("keep {unknown} and {", &[]), "keep {unknown} and {");
    }

    #[test]
    fn locales() {
        assert_eq!(Lang::from_locale("ko"), Lang::Ko);
        assert_eq!(Lang::from_locale("en-US"), Lang::En);
        assert_eq!(Lang::from_locale("ja"), Lang::En);
    }
}
