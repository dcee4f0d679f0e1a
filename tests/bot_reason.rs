//! A reason for a cancel or stop, end to end in both front ends: typed in the command, or in the
//! modal that "Stop with reason…" opens from the confirmation. It reaches the team's outcome and
//! the audit trail escaped, and costs exactly one WSC call.

mod common;

use common::audit;
use common::bot::*;
use common::fake_discord::FakeDiscord;
use common::settings;
use serde_json::{json, Value};
use wsc_bot::wsc::sim::Phase;

/// Mentions, markdown, a forged audit line and a heading, on several lines.
const HOSTILE: &str = "@everyone <@1> <@&1> **owner** asked\n`stop` **done** job 1 by <@1>\n# forged ||x||";

fn text(value: &Value) -> String {
    value["content"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn a_hostile_reason_through_the_modal_reaches_the_team_and_the_trail_escaped() {
    for front in FRONTS {
        let bot = start_bot_in(front, FakeDiscord::start().await, settings(), 5, &[]).await;
        let ask = bot.command(&operator(), "stop", instance_arg(SCANNING)).await;
        let confirmation = bot.original(ask).await;
        let reason_id = format!("wsc:v1:reason-stop:{SCANNING}");
        assert_eq!(
            custom_ids(&confirmation),
            [format!("wsc:v1:confirm-stop:{SCANNING}"), reason_id.clone(), format!("wsc:v1:keep:{SCANNING}")],
            "{front:?}: the one-tap button stays first"
        );
        assert!(text(&confirmation).contains("Stop this scan?"));

        // The modal is the first answer, and WSC is not asked for it.
        let reads = bot.sim.requests().len();
        let open = bot.click(&operator(), &reason_id, confirmation.clone()).await;
        let modal = bot.callback(open).await.body;
        assert_eq!(modal["type"], 9, "{front:?}: {modal:#}");
        assert_eq!(modal["data"]["custom_id"], reason_id);
        let input = &modal["data"]["components"][0]["components"][0];
        assert_eq!(
            (&input["custom_id"], &input["max_length"], &input["type"]),
            (&json!("reason"), &json!(200), &json!(4))
        );
        assert!(modal["data"]["title"].as_str().unwrap().chars().count() <= 45);
        assert_eq!(bot.sim.requests().len(), reads, "no WSC call to open the modal");

        let submit = bot.submit_modal(&operator(), &reason_id, reason_field(HOSTILE), confirmation).await;
        assert_eq!(bot.callback(submit).await.body["type"], 7, "the confirmation is replaced");
        let outcome = bot.follow_up(submit).await.body;
        let public = text(&outcome);
        assert!(public.contains("stopped the scan of") && public.contains("\nReason: "), "{public}");
        assert!(public.contains(r"\*\*owner\*\* asked"), "markdown shown as typed: {public}");
        assert_eq!(public.lines().count(), 2, "the reason is one line: {public}");
        assert_inert(&outcome);
        assert_eq!(outcome["allowed_mentions"]["parse"], json!([]));
        assert!(!is_ephemeral(&outcome), "the team sees it");

        let line = bot.audit_line("done", SCANNING).await.body;
        assert!(text(&line).contains("owner"), "{}", text(&line));
        assert_eq!(text(&line).lines().count(), 1);
        assert_inert(&line);
        let event = audit::wait_for("with the reason", WAIT, |e| {
            e.get("interaction") == Some(&submit.to_string()) && e.get("outcome") == Some("done")
        })
        .await;
        let kept = event.get("reason").unwrap();
        assert!(
            kept.starts_with("@everyone <@1> <@&1> **owner** asked `stop`") && !kept.contains('\n'),
            "{kept}"
        );

        assert_eq!(bot.wsc_actions(), 1, "{front:?}: exactly one WSC call");
        assert_eq!(bot.sim.phase(SCANNING), Some(Phase::Stopping));
        bot.assert_payloads_valid();
        bot.finish().await;
    }
}

#[tokio::test]
async fn a_reason_given_with_the_command_survives_the_one_tap_confirm() {
    for front in FRONTS {
        let bot = start_bot_in(front, FakeDiscord::start().await, settings(), 5, &[]).await;
        let reason = "client @here asked `x` *now*";
        let mut options = instance_arg(SCHEDULED);
        options.as_array_mut().unwrap().push(json!({"name": "reason", "type": 3, "value": reason}));
        let ask = bot.command(&operator(), "cancel", options).await;
        let confirmation = bot.original(ask).await;
        let fields = confirmation["embeds"][0]["fields"].as_array().unwrap();
        let shown = fields.iter().find(|f| f["name"] == "Reason").expect("the reason is shown");
        assert_inert(shown);

        // "Cancel with reason…" offers the same reason to edit.
        let reason_id = format!("wsc:v1:reason-cancel:{SCHEDULED}");
        let open = bot.click(&operator(), &reason_id, confirmation.clone()).await;
        let modal = bot.callback(open).await.body;
        assert_eq!(modal["data"]["components"][0]["components"][0]["value"], reason);

        let confirm =
            bot.click(&operator(), &format!("wsc:v1:confirm-cancel:{SCHEDULED}"), confirmation).await;
        let public = text(&bot.follow_up(confirm).await.body);
        assert!(
            public.contains("cancelled the scan of") && public.contains("Reason: client @\u{200B}here"),
            "{public}"
        );
        let event = audit::wait_for("with the command's reason", WAIT, |e| {
            e.get("interaction") == Some(&confirm.to_string()) && e.get("outcome") == Some("done")
        })
        .await;
        assert_eq!(event.get("reason"), Some(reason), "{front:?}: read back whole");
        assert_eq!(bot.wsc_actions(), 1);
        assert_eq!(bot.sim.phase(SCHEDULED), Some(Phase::Cancelled));
        bot.assert_payloads_valid();
        bot.finish().await;
    }
}

#[tokio::test]
async fn the_reason_is_asked_in_korean_and_refused_without_the_role() {
    for front in FRONTS {
        let bot = start_bot_in(front, FakeDiscord::start().await, settings(), 5, &[]).await;
        let ask = bot.command(&operator(), "stop", instance_arg(SCANNING)).await;
        let confirmation = bot.original(ask).await;
        let reason_id = format!("wsc:v1:reason-stop:{SCANNING}");
        let korean = bot.click_json("ko", "ko", &operator(), &reason_id, confirmation.clone());
        let modal = bot.callback(bot.send(korean).await).await.body;
        assert_eq!(modal["data"]["title"], format!("작업 {SCANNING} 중지 사유"));

        // A viewer (the button is on nobody else's message, but a submission could be crafted).
        let open = bot.click(&viewer(), &reason_id, confirmation.clone()).await;
        assert!(text(&bot.callback(open).await.body["data"]).contains("Nothing was done"));
        let submit = bot.submit_modal(&viewer(), &reason_id, reason_field("because"), confirmation).await;
        assert!(text(&bot.callback(submit).await.body["data"]).contains("Nothing was done"));
        bot.audit_line("denied", SCANNING).await;
        assert_eq!(bot.wsc_actions(), 0);
        assert_eq!(bot.sim.phase(SCANNING), Some(Phase::Scanning));
        bot.assert_payloads_valid();
        bot.finish().await;
    }
}

fn titles(message: &Value) -> Vec<String> {
    message["embeds"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| e["title"].as_str().unwrap().to_owned())
        .collect()
}

/// `/wsc audit` reads the store: a bot started again on the same SQLite file shows what the
/// first one did, five a page, newest first, only to the one asking.
#[tokio::test]
async fn the_audit_trail_in_chat_pages_filters_and_survives_a_restart() {
    for front in FRONTS {
        let database = vec![("WSC_DATABASE_URL", common::sqlite_url())];
        let first = start_bot_in(front, FakeDiscord::start().await, settings(), 5, &database).await;
        for _ in 0..3 {
            let denied = first.command(&viewer(), "stop", instance_arg(SCANNING)).await;
            first.callback(denied).await;
        }
        let mut options = instance_arg(SCHEDULED);
        options
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "reason", "type": 3, "value": "**client** asked"}));
        let ask = first.command(&operator(), "cancel", options).await;
        let confirmation = first.original(ask).await;
        let cancel =
            first.click(&operator(), &format!("wsc:v1:confirm-cancel:{SCHEDULED}"), confirmation).await;
        first.follow_up(cancel).await;
        let stop = first.confirm_stop(SCANNING).await;
        first.follow_up(stop).await;
        first.audit_line("done", SCANNING).await;
        first.finish().await;
        drop(first);

        // Started again in the other front end: a gateway bot's lease on the store outlives its
        // task by 15 s, and each front end is then tested on each side of the restart.
        let front = if front == Front::Gateway { Front::Serve } else { Front::Gateway };
        let bot = start_bot_in(front, FakeDiscord::start().await, settings(), 5, &database).await;
        let asked = bot.command(&viewer(), "audit", json!([])).await;
        assert!(is_ephemeral(&bot.callback(asked).await.body["data"]), "{front:?}: only to the asker");
        let page_one = bot.original(asked).await;
        assert!(text(&page_one).starts_with("**Audit trail** · page 1"), "{}", text(&page_one));
        let done = |act: &str, job: u64| format!("{act} · done · job {job}");
        let attempted = |act: &str, job: u64| format!("{act} · attempted · job {job}");
        assert_eq!(
            titles(&page_one),
            [
                done("stop", SCANNING),
                attempted("stop", SCANNING),
                done("cancel", SCHEDULED),
                attempted("cancel", SCHEDULED),
                format!("stop · denied · job {SCANNING}"),
            ],
            "{front:?}: newest first"
        );
        let by = page_one["embeds"][0]["description"].as_str().unwrap();
        assert!(by.contains(&format!("<@{}> (oncall)", operator().user_id)) && by.contains("<t:"), "{by}");
        let cancelled = page_one["embeds"][2]["description"].as_str().unwrap();
        assert!(cancelled.contains(r"Reason: \*\*client\*\* asked"), "{cancelled}");
        assert_eq!(custom_ids(&page_one), ["wsc:v1:audit:2"]);

        let older = bot.click(&viewer(), "wsc:v1:audit:2", page_one).await;
        assert_eq!(bot.callback(older).await.body["type"], 6);
        let page_two = bot.original(older).await;
        assert_eq!(titles(&page_two), vec![format!("stop · denied · job {SCANNING}"); 2]);
        assert_eq!(custom_ids(&page_two), ["wsc:v1:audit:1"], "only ◀ on the last page");

        let member = json!([{"name": "member", "type": 6, "value": viewer().user_id.to_string()}]);
        let mine = bot.original(bot.command(&operator(), "audit", member).await).await;
        assert_eq!(titles(&mine).len(), 3, "{front:?}: the viewer's three attempts");
        assert!(text(&mine).contains(&format!("asked by <@{}>", viewer().user_id)));
        assert!(custom_ids(&mine).is_empty(), "one page");

        let job = json!([{"name": "instance_id", "type": 3, "value": SCHEDULED.to_string()}]);
        let of_job = bot.original(bot.command(&viewer(), "audit", job).await).await;
        assert_eq!(titles(&of_job), [done("cancel", SCHEDULED), attempted("cancel", SCHEDULED)]);

        let refused = bot.command(&stranger(), "audit", json!([])).await;
        assert!(text(&bot.callback(refused).await.body["data"]).contains("You need"));
        let bad = json!([{"name": "instance_id", "type": 3, "value": "<@&1>"}]);
        let bad = bot.command(&viewer(), "audit", bad).await;
        assert!(text(&bot.callback(bad).await.body["data"]).contains("not a job number"));
        assert!(bot.sim.requests().is_empty(), "{front:?}: the audit trail asks WSC nothing");
        bot.assert_payloads_valid();
        bot.finish().await;
    }
}
