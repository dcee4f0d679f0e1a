//! `wsc-bot audit`: the audit trail from the store, as text for people, JSON lines for log
//! shippers, or CSV for spreadsheets.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::bot::ports::AuditRecord;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Jsonl,
    Csv,
}

/// `30m`, `12h`, `7d`, `2w`: how far back to look.
pub fn parse_age(text: &str) -> Result<Duration, String> {
    let problem = || format!("{text:?} is not an age such as 30m, 12h, 7d or 2w");
    let split = text.len().checked_sub(1).filter(|&at| text.is_char_boundary(at)).ok_or_else(problem)?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().map_err(|_| problem())?;
    let unit = match unit {
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(problem()),
    };
    Ok(Duration::from_secs(number.saturating_mul(unit)))
}

fn time(at_ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(at_ms)
        .map_or_else(|| at_ms.to_string(), |t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
}

/// A cell a spreadsheet will not run as a formula: text from users or WSC (a name, a URL, a
/// reason) may start with `=`, `+`, `-` or `@`.
fn inert(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell.to_owned()
    }
}

/// Control characters shown as escapes, so one event stays on one line of text.
fn one_line(text: &str) -> String {
    text.chars().flat_map(|c| if c.is_control() { c.escape_default().collect() } else { vec![c] }).collect()
}

pub fn render(records: &[AuditRecord], format: Format) -> String {
    match format {
        Format::Text => records.iter().map(text_line).collect(),
        Format::Jsonl => records
            .iter()
            .map(|record| {
                let mut value = serde_json::to_value(record).unwrap_or_default();
                value["at"] = time(record.at_ms).into();
                format!("{value}\n")
            })
            .collect(),
        Format::Csv => csv(records),
    }
}

fn text_line(r: &AuditRecord) -> String {
    let optional = |label: &str, value: &Option<String>| {
        value.as_deref().map(|v| format!(" {label} {}", one_line(v))).unwrap_or_default()
    };
    let role = r.matched_role.map(|role| format!(" as role {role}")).unwrap_or_default();
    format!(
        "{} {} {} job {} by {} ({}){role}{}{}{}{}{} ref {} {} ms\n",
        time(r.at_ms),
        r.action,
        r.outcome,
        r.instance,
        one_line(&r.actor_name),
        r.actor_id,
        optional("target", &r.target_url),
        optional("ncp_code", &r.wsc_code),
        optional("request", &r.request_id),
        optional("reason", &r.reason),
        optional("interaction", &Some(r.interaction.to_string())),
        r.correlation,
        r.latency_ms,
    )
}

fn csv(records: &[AuditRecord]) -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let header = [
        "at",
        "action",
        "outcome",
        "instance",
        "actor_id",
        "actor_name",
        "matched_role",
        "target_url",
        "wsc_code",
        "request_id",
        "reason",
        "correlation",
        "interaction",
        "latency_ms",
    ];
    let _ = writer.write_record(header);
    for r in records {
        let text = |value: &Option<String>| value.as_deref().map(inert).unwrap_or_default();
        let _ = writer.write_record([
            time(r.at_ms),
            r.action.clone(),
            r.outcome.clone(),
            r.instance.to_string(),
            r.actor_id.to_string(),
            inert(&r.actor_name),
            r.matched_role.map(|role| role.to_string()).unwrap_or_default(),
            text(&r.target_url),
            text(&r.wsc_code),
            text(&r.request_id),
            text(&r.reason),
            r.correlation.clone(),
            r.interaction.to_string(),
            r.latency_ms.to_string(),
        ]);
    }
    String::from_utf8(writer.into_inner().unwrap_or_default()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> AuditRecord {
        AuditRecord {
            at_ms: 1_764_654_287_123,
            correlation: "ABC234".into(),
            interaction: 5,
            actor_id: 42,
            actor_name: "=HYPERLINK(\"x\")\nmallory".into(),
            matched_role: Some(7),
            action: "stop".into(),
            instance: 1000000006,
            target_url: Some("https://shop.example.com/,\"x\"".into()),
            outcome: "done".into(),
            wsc_code: None,
            request_id: Some("req-1".into()),
            latency_ms: 12,
            reason: Some("hurting prod".into()),
        }
    }

    #[test]
    fn ages() {
        assert_eq!(parse_age("30m"), Ok(Duration::from_secs(1_800)));
        assert_eq!(parse_age("7d"), Ok(Duration::from_secs(604_800)));
        assert_eq!(parse_age("2w"), Ok(Duration::from_secs(1_209_600)));
        for bad in ["", "d", "7", "7y", "-1d", "1.5h", "일d"] {
            assert!(parse_age(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn one_event_is_one_line_of_text() {
        let text = render(&[record()], Format::Text);
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(text.starts_with("2025-12-02T05:44:47.123Z stop done job 1000000006 by "), "{text}");
        assert!(text.contains("mallory (42) as role 7") && text.contains("reason hurting prod"), "{text}");
    }

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        let csv = render(&[record()], Format::Csv);
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 1);
        assert_eq!(&rows[0][5], "'=HYPERLINK(\"x\")\nmallory", "a formula is text, quoted whole");
        assert_eq!(&rows[0][7], "https://shop.example.com/,\"x\"");
        assert_eq!(&rows[0][0], "2025-12-02T05:44:47.123Z");
    }

    #[test]
    fn json_lines_carry_every_field_and_a_readable_time() {
        let line = render(&[record(), record()], Format::Jsonl);
        let values: Vec<serde_json::Value> = line.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(values.len(), 2);
        assert_eq!(values[0]["at"], "2025-12-02T05:44:47.123Z");
        assert_eq!(values[0]["wsc_code"], serde_json::Value::Null);
        assert_eq!(values[0]["instance"], 1000000006);
    }
}
