//! WSC's response shapes, decoded leniently: numbers that arrive as strings, `null` versus `""`,
//! `record_data: null`, opaque `slave_data`. One odd record never fails a whole list.

use serde::Serialize;
use serde_json::{Map, Value};

/// What the bot may branch on, derived from `result_button` alone (the `status` label is
/// localized display text).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub enum JobState {
    /// `cancel`: registered or scheduled, not started.
    NotStarted,
    /// `terminate`: crawling or scanning.
    Running,
    /// `report`: finished, report available.
    Finished,
    /// `cause`: failed, reason in `result_desc`.
    Failed,
    /// `expired`: retention period over.
    Expired,
    /// Empty or missing: WSC offers no action (cancelled, stopped, or in between states).
    NoAction,
    /// A value this bot does not know; shown as it is, nothing offered.
    Unknown(String),
}

/// The actions a job's state can allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum JobAction {
    Cancel,
    Stop,
    Report,
}

impl JobState {
    pub fn from_result_button(value: Option<&str>) -> Self {
        match value.map(str::trim).unwrap_or("") {
            "cancel" => Self::NotStarted,
            "terminate" => Self::Running,
            "report" => Self::Finished,
            "cause" => Self::Failed,
            "expired" => Self::Expired,
            "" => Self::NoAction,
            other => Self::Unknown(other.to_owned()),
        }
    }

    pub fn allows(&self, action: JobAction) -> bool {
        matches!(
            (self, action),
            (Self::NotStarted, JobAction::Cancel)
                | (Self::Running, JobAction::Stop)
                | (Self::Finished, JobAction::Report)
        )
    }

    /// A short English name for logs and `check`; the bot localizes its own.
    pub fn name(&self) -> &str {
        match self {
            Self::NotStarted => "not started",
            Self::Running => "running",
            Self::Finished => "finished",
            Self::Failed => "failed",
            Self::Expired => "expired",
            Self::NoAction => "no action available",
            Self::Unknown(raw) => raw,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Job {
    pub instance_no: u64,
    /// WSC's localized label (`Scheduled`, `예약`, `URL 수집중`…): show it, never branch on it.
    pub status_label: String,
    pub state: JobState,
    pub start_url: String,
    pub start_date: Option<String>,
    pub end_date: Option<String>,
    /// 0–100 when WSC reports it.
    pub progress: Option<u8>,
    pub crawl_count: Option<u64>,
    pub scan_count: Option<u64>,
    pub memo: Option<String>,
    pub result_desc: Option<String>,
    pub rescan_button: Option<String>,
    /// No documented schema: kept as it came.
    pub slave_data: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobPage {
    pub jobs: Vec<Job>,
    pub total: u64,
    /// The last page (WSC's `total_page_cnt`), at least 1.
    pub total_pages: u64,
    /// Records left out because they had no usable `instanceNo`.
    pub skipped: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RiskCounts {
    pub total: Option<u64>,
    pub high: Option<u64>,
    pub medium: Option<u64>,
    pub low: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    pub report_date: Option<String>,
    pub target: Option<String>,
    pub crawl_time: Option<String>,
    pub scan_time: Option<String>,
    pub categories: Vec<String>,
    pub scanned_domains: Vec<String>,
    pub risk: RiskCounts,
}

/// The search filter of searchJobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum SearchField {
    Url,
    Memo,
    /// Any field: WSC's empty `searchType`.
    #[default]
    Any,
}

impl SearchField {
    pub fn wire_name(self) -> &'static str {
        match self {
            Self::Url => "url",
            Self::Memo => "memo",
            Self::Any => "",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SearchQuery {
    pub field: SearchField,
    pub keyword: String,
    /// One of WSC's numeric status codes (see `STATUS_CODES`); `None` for any status.
    pub status_code: Option<u16>,
    pub page: u32,
    pub limit: u32,
}

impl SearchQuery {
    pub fn body(&self) -> Value {
        serde_json::json!({
            "searchType": self.field.wire_name(),
            "searchKeyword": self.keyword,
            "statusCode": self.status_code,
            "limit": self.limit,
            "page": self.page,
        })
    }
}

/// createJob's `Speed`: sent as the strings `"1"` to `"3"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScanSpeed {
    #[default]
    Normal,
    Faster,
    Fast,
}

impl ScanSpeed {
    pub const ALL: [ScanSpeed; 3] = [Self::Normal, Self::Faster, Self::Fast];

    pub fn wire(self) -> &'static str {
        match self {
            Self::Normal => "1",
            Self::Faster => "2",
            Self::Fast => "3",
        }
    }

    /// The option value people pick in chat.
    pub fn name(self) -> &'static str {
        match self {
            Self::Normal => "normal",
            Self::Faster => "faster",
            Self::Fast => "fast",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|speed| speed.name() == name)
    }
}

/// A createJob request: a new scan of `start_url`, or a rescan of a finished job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct NewJob {
    pub start_url: String,
    pub speed: ScanSpeed,
    /// Shown in the console; also how the job is found when WSC's answer does not name it.
    pub memo: String,
    /// The finished job this rescans.
    pub master_instance_no: Option<u64>,
}

/// The `UserAgent` every scan from chat uses.
pub const USER_AGENT: &str = "PC Chrome";

impl NewJob {
    /// createJob's PascalCase body: every vulnerability, the desktop browser, no exclusions.
    pub fn body(&self) -> Value {
        let mut body = serde_json::json!({
            "StartUrl": self.start_url,
            "ExcludeUrl": [],
            "VulnItems": ["ALL"],
            "UserAgent": USER_AGENT,
            "Speed": self.speed.wire(),
            "Memo": self.memo,
        });
        if let Some(master) = self.master_instance_no {
            body["MasterInstanceNo"] = Value::String(master.to_string());
        }
        body
    }
}

/// The new job's number in createJob's answer, which NCP does not document: under `resources`
/// (as its `instanceNo`, or as the value itself) or beside it; `None` when it is not there.
pub fn decode_created(body: &Value) -> Option<u64> {
    let root = body.as_object()?;
    let number = |map: &Map<String, Value>| {
        ["instanceNo", "instance_no", "instanceNumber"]
            .iter()
            .find_map(|key| instance_number(get_ci(map, key)))
    };
    match get_ci(root, "resources") {
        Some(Value::Object(inner)) => number(inner),
        Some(value @ (Value::String(_) | Value::Number(_))) => instance_number(Some(value)),
        _ => None,
    }
    .or_else(|| number(root))
}

/// searchJobs' status codes with their Korean and English labels (wsc-api.md).
pub const STATUS_CODES: &[(u16, &str, &str)] = &[
    (12, "URL 수집 대기", "URL collection pending"),
    (13, "URL 수집 진행 중", "URL collection in progress"),
    (14, "URL 수집 완료", "URL collection done"),
    (15, "URL 수집 실패", "URL collection failed"),
    (2, "진단 대기", "Scan pending"),
    (3, "진단 진행 중", "Scan in progress"),
    (4, "진단 완료", "Scan done"),
    (5, "진단 실패", "Scan failed"),
    (91, "진단 취소", "Scan cancelled"),
    (92, "중지 중", "Stopping"),
    (93, "작업 중지", "Stopped"),
];

/// Reads a list response (getJobs or searchJobs) after the caller has ruled out an error body.
pub fn decode_job_page(body: &Value) -> Result<JobPage, String> {
    let resources =
        body.get("resources").and_then(Value::as_object).ok_or("`resources` is missing or not an object")?;
    let records = match resources.get("record_data") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(records)) => records.clone(),
        Some(other) => return Err(format!("`resources.record_data` is {}", kind_of(other))),
    };
    let total_records = records.len();
    let jobs: Vec<Job> = records.iter().filter_map(decode_job).collect();
    let total = lenient_u64(resources.get("total_cnt")).unwrap_or(jobs.len() as u64);
    let total_pages = lenient_u64(resources.get("total_page_cnt")).unwrap_or(1).max(1);
    Ok(JobPage { skipped: total_records - jobs.len(), jobs, total, total_pages })
}

/// One record; `None` when it has no usable `instanceNo` (nothing could act on it safely).
pub fn decode_job(record: &Value) -> Option<Job> {
    let record = record.as_object()?;
    let instance_no = instance_number(record.get("instanceNo"))?;
    Some(Job {
        instance_no,
        status_label: lenient_text(record.get("status")).unwrap_or_default(),
        state: JobState::from_result_button(lenient_text(record.get("result_button")).as_deref()),
        start_url: lenient_text(record.get("start_url")).unwrap_or_default(),
        start_date: lenient_text(record.get("start_date")),
        end_date: lenient_text(record.get("end_date")),
        progress: lenient_u64(record.get("progress")).map(|p| p.min(100) as u8),
        crawl_count: lenient_u64(record.get("crawl_cnt")),
        scan_count: lenient_u64(record.get("scan_cnt")),
        memo: lenient_text(record.get("memo")),
        result_desc: lenient_text(record.get("result_desc")),
        rescan_button: lenient_text(record.get("rescan_button")),
        slave_data: record.get("slave_data").cloned().unwrap_or(Value::Null),
    })
}

/// Reads a report, whether or not it sits under `resources`, with keys in any casing.
pub fn decode_report(body: &Value) -> Result<Report, String> {
    let root = body.as_object().ok_or("the report is not a JSON object")?;
    let fields = match get_ci(root, "resources") {
        Some(Value::Object(inner)) => inner,
        _ => root,
    };
    let text = |key: &str| get_ci(fields, key).and_then(|v| lenient_text(Some(v)));
    let list = |key: &str| match get_ci(fields, key) {
        Some(Value::Array(items)) => items.iter().filter_map(|v| lenient_text(Some(v))).collect(),
        other => lenient_text(other)
            .map(|s| {
                s.split([',', '\n']).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
            })
            .unwrap_or_default(),
    };
    let risk = match get_ci(fields, "Classify_byRisk_Level") {
        Some(Value::Object(levels)) => RiskCounts {
            total: lenient_u64(get_ci(levels, "Total")),
            high: lenient_u64(get_ci(levels, "High")),
            medium: lenient_u64(get_ci(levels, "Medium")),
            low: lenient_u64(get_ci(levels, "Low")),
        },
        _ => RiskCounts::default(),
    };
    let report = Report {
        report_date: text("report_date"),
        target: match get_ci(fields, "Target_Info") {
            Some(Value::Object(_) | Value::Array(_)) => get_ci(fields, "Target_Info").map(Value::to_string),
            other => lenient_text(other),
        },
        crawl_time: text("Crawl_Time"),
        scan_time: text("Scan_Time"),
        categories: list("Vulnerability_Category"),
        scanned_domains: list("Scanned_Domain_List"),
        risk,
    };
    if report == Report::default() {
        return Err("the report has none of the known fields".into());
    }
    Ok(report)
}

/// A number, a string of digits, or nothing (`null`, `""`, anything else).
pub fn lenient_u64(value: Option<&Value>) -> Option<u64> {
    match value? {
        Value::Number(n) => {
            n.as_u64().or_else(|| n.as_f64().filter(|f| f.is_finite() && *f >= 0.0).map(|f| f as u64))
        }
        Value::String(s) => {
            let s = s.trim().trim_end_matches('%');
            s.parse::<u64>()
                .ok()
                .or_else(|| s.parse::<f64>().ok().filter(|f| f.is_finite() && *f >= 0.0).map(|f| f as u64))
        }
        _ => None,
    }
}

/// The largest job number the bot accepts: 19 digits. Anything larger is no job WSC made.
pub const MAX_INSTANCE_NO: u64 = 9_999_999_999_999_999_999;

/// A job number exactly as WSC sent it, as a number or a string of digits. Unlike counts, it is
/// never rounded from a float: `1e20` saturated to `u64::MAX` would name a job nobody made.
fn instance_number(value: Option<&Value>) -> Option<u64> {
    let n = match value? {
        Value::Number(n) => n.as_u64()?,
        Value::String(s) => {
            let s = s.trim();
            if !s.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            s.parse().ok()?
        }
        _ => return None,
    };
    (1..=MAX_INSTANCE_NO).contains(&n).then_some(n)
}

/// Text, with `null` and `""` both meaning "none"; numbers and booleans become their text.
pub fn lenient_text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn get_ci<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    map.get(key).or_else(|| map.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v))
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_new_job_number_is_found_wherever_it_is_or_not_at_all() {
        let answers = [
            (json!({"returnCode": "0", "resources": {"instanceNo": "1000000042"}}), Some(1000000042)),
            (json!({"returnCode": "0", "resources": {"InstanceNo": 1000000042}}), Some(1000000042)),
            (json!({"returnCode": "0", "resources": "1000000042"}), Some(1000000042)),
            (json!({"returnCode": "0", "instanceNo": "1000000042", "resources": null}), Some(1000000042)),
            (json!({"returnCode": "0", "returnMessage": "Success", "resources": null}), None),
            (json!({"returnCode": "0", "resources": {}}), None),
            (json!({"returnCode": "0", "resources": {"instanceNo": "1e20"}}), None),
            (json!({"returnCode": "0", "resources": {"instanceNo": "0"}}), None),
            (json!([1, 2]), None),
            (Value::Null, None),
        ];
        for (body, number) in answers {
            assert_eq!(decode_created(&body), number, "{body}");
        }
    }

    #[test]
    fn a_new_job_is_sent_in_pascal_case_with_the_speed_as_a_string() {
        let job = NewJob {
            start_url: "https://shop.example.com/".into(),
            speed: ScanSpeed::Fast,
            memo: "m".into(),
            master_instance_no: Some(7),
        };
        assert_eq!(
            job.body(),
            json!({"StartUrl": "https://shop.example.com/", "ExcludeUrl": [], "VulnItems": ["ALL"],
                   "UserAgent": "PC Chrome", "Speed": "3", "Memo": "m", "MasterInstanceNo": "7"})
        );
        let fresh = NewJob { master_instance_no: None, speed: ScanSpeed::Normal, ..job };
        assert!(fresh.body().get("MasterInstanceNo").is_none());
        assert_eq!(fresh.body()["Speed"], "1");
    }

    #[test]
    fn documented_sample_decodes() {
        let body = json!({"resources": {"total_cnt": 1, "total_page_cnt": "1", "current_start_page": "1",
            "current_end_page": "10", "record_data": [{"instanceNo": "1234567890",
            "start_date": "2024-07-31 00:00:00", "end_date": "", "status": "Scheduled", "progress": null,
            "start_url": "http://target-domain.com", "crawl_cnt": "", "scan_cnt": "", "memo": "Wsc Sample",
            "result_button": "cancel", "result_desc": "", "rescan_button": "", "slave_data": null}]}});
        let page = decode_job_page(&body).unwrap();
        assert_eq!((page.total, page.total_pages, page.skipped), (1, 1, 0));
        let job = &page.jobs[0];
        assert_eq!(job.instance_no, 1_234_567_890);
        assert_eq!(job.state, JobState::NotStarted);
        assert_eq!(job.end_date, None);
        assert_eq!(job.progress, None);
        assert_eq!(job.crawl_count, None);
        assert_eq!(job.memo.as_deref(), Some("Wsc Sample"));
        assert!(job.state.allows(JobAction::Cancel) && !job.state.allows(JobAction::Stop));
    }

    #[test]
    fn null_record_data_is_an_empty_page() {
        let page = decode_job_page(
            &json!({"resources": {"total_cnt": "0", "total_page_cnt": "0", "record_data": null}}),
        )
        .unwrap();
        assert!(page.jobs.is_empty());
        assert_eq!(page.total_pages, 1);
    }

    #[test]
    fn one_odd_record_never_fails_the_list() {
        let body = json!({"resources": {"total_cnt": 4, "record_data": [
            {"instanceNo": 7, "progress": "42", "crawl_cnt": 10, "scan_cnt": "3", "result_button": "terminate"},
            {"instanceNo": "not a number"},
            "a string where a record should be",
            {"instanceNo": "8", "progress": 250.0, "result_button": "something-new", "memo": null,
             "slave_data": {"anything": [1, 2]}, "status": 3}
        ]}});
        let page = decode_job_page(&body).unwrap();
        assert_eq!(page.jobs.len(), 2);
        assert_eq!(page.skipped, 2);
        assert_eq!(page.jobs[0].progress, Some(42));
        assert_eq!(page.jobs[0].scan_count, Some(3));
        assert_eq!(page.jobs[0].state, JobState::Running);
        assert_eq!(page.jobs[1].progress, Some(100));
        assert_eq!(page.jobs[1].state, JobState::Unknown("something-new".into()));
        assert_eq!(page.jobs[1].status_label, "3");
        assert_eq!(page.jobs[1].slave_data, json!({"anything": [1, 2]}));
    }

    #[test]
    fn a_job_number_is_taken_exactly_or_not_at_all() {
        let number = |value: Value| instance_number(Some(&value));
        assert_eq!(number(json!(7)), Some(7));
        assert_eq!(number(json!(" 1234567890 ")), Some(1_234_567_890));
        assert_eq!(number(json!("9999999999999999999")), Some(MAX_INSTANCE_NO));
        // Rounded, saturated or out of range, each would name a job WSC never made.
        for odd in [
            json!(1e20),
            json!("1e20"),
            json!(7.5),
            json!("7.0"),
            json!("18446744073709551615"),
            json!(u64::MAX),
            json!(0),
            json!("-3"),
            json!("+3"),
            json!(""),
            json!(null),
            json!(true),
        ] {
            assert_eq!(number(odd.clone()), None, "{odd}");
        }
    }

    #[test]
    fn every_result_button_maps_to_one_state_and_its_actions() {
        let cases = [
            (Some("cancel"), JobState::NotStarted, Some(JobAction::Cancel)),
            (Some("terminate"), JobState::Running, Some(JobAction::Stop)),
            (Some("report"), JobState::Finished, Some(JobAction::Report)),
            (Some("cause"), JobState::Failed, None),
            (Some("expired"), JobState::Expired, None),
            (Some(""), JobState::NoAction, None),
            (None, JobState::NoAction, None),
        ];
        for (raw, state, allowed) in cases {
            assert_eq!(JobState::from_result_button(raw), state);
            for action in [JobAction::Cancel, JobAction::Stop, JobAction::Report] {
                assert_eq!(state.allows(action), Some(action) == allowed, "{raw:?} {action:?}");
            }
        }
    }

    #[test]
    fn missing_resources_is_an_error() {
        assert!(decode_job_page(&json!({"returnCode": "0"})).is_err());
        assert!(decode_job_page(&json!({"resources": {"record_data": "x"}})).is_err());
    }

    #[test]
    fn report_in_either_place_and_any_casing() {
        let fields = json!({"report_date": "2024/08/01 10:00:00", "target_info": "http://t.example",
            "Crawl_Time": "00:02:00", "SCAN_TIME": "00:10:00", "Vulnerability_Category": "XSS, SQL Injection",
            "Scanned_Domain_List": ["a.example", "b.example"],
            "Classify_byRisk_Level": {"Total": "6", "High": 1, "medium": "2", "Low": 3}});
        for body in [json!({"resources": fields.clone()}), fields.clone()] {
            let report = decode_report(&body).unwrap();
            assert_eq!(report.target.as_deref(), Some("http://t.example"));
            assert_eq!(report.scan_time.as_deref(), Some("00:10:00"));
            assert_eq!(report.categories, ["XSS", "SQL Injection"]);
            assert_eq!(report.scanned_domains, ["a.example", "b.example"]);
            assert_eq!(
                report.risk,
                RiskCounts { total: Some(6), high: Some(1), medium: Some(2), low: Some(3) }
            );
        }
        assert!(decode_report(&json!({"resources": null})).is_err());
    }

    #[test]
    fn search_body_sends_all_five_keys() {
        let query = SearchQuery {
            field: SearchField::Any,
            keyword: "x".into(),
            status_code: None,
            page: 2,
            limit: 5,
        };
        assert_eq!(
            query.body(),
            json!({"searchType": "", "searchKeyword": "x", "statusCode": null, "limit": 5, "page": 2})
        );
    }
}
