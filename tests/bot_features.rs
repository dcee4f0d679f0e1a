//! Autocomplete, search filters, reports and Korean, end to end through the fake Discord.

mod common;

use std::time::{Duration, Instant};

use common::bot::*;
use common::settings;
use serde_json::{json, Value};
use wsc_bot::wsc::sim::jobs::generated_seed;
use wsc_bot::wsc::sim::{Fault, FaultError};
use wsc_bot::wsc::Operation;

const FINISHED: u64 = 1000000005;
const EXPIRED: u64 = 1000000001;

fn instance(value: &str) -> Value {
    json!([{"name": "instance_id", "type": 3, "value": value}])
}

fn content(message: &Value) -> String {
    message["content"].as_str().unwrap_or_default().to_owned()
}

fn wsc_reads(bot: &Bot) -> usize {
    bot.sim
        .requests()
        .iter()
        .filter(|r| matches!(r.operation, Some(Operation::List | Operation::Search)))
        .count()
}

#[tokio::test]
async fn autocomplete_with_ten_thousand_jobs_answers_on_time_from_the_cache() {
    let mut settings = settings();
    settings.seed.extend(generated_seed(10_000, 2_000_000_000));
    let bot = start_bot(settings, 10).await;

    // Without the role: no choices, and WSC is not asked.
    assert!(bot.autocomplete(&viewer(), "stop", "").await.is_empty());
    bot.still_serves().await; // the sentinel: WSC saw its list and nothing else
    let seen: Vec<_> = bot.sim.requests().into_iter().map(|r| r.operation).collect();
    assert_eq!(seen, [Some(Operation::List)], "no read for a member without the role");
    bot.sim.clear_requests();

    let choices = bot.autocomplete(&operator(), "stop", "").await;
    assert_eq!(choices.len(), 25);
    for choice in &choices {
        let name = choice["name"].as_str().unwrap();
        assert!(name.chars().count() <= 100 && name.contains(" · "), "{name}");
        assert!(name.contains("running"), "only running jobs are offered for stop: {name}");
    }
    let by_digits = bot.autocomplete(&operator(), "stop", "2000009997").await;
    assert_eq!(by_digits.len(), 1, "{by_digits:?}");
    assert_eq!(by_digits[0]["value"], "2000009997");
    let by_url = bot.autocomplete(&operator(), "cancel", "HOST9996.Example").await;
    assert!(by_url.iter().all(|c| c["name"].as_str().unwrap().contains("host9996")), "{by_url:?}");
    assert!(!by_url.is_empty());
    let reports = bot.autocomplete(&viewer(), "report", "").await;
    assert!(!reports.is_empty() && reports.iter().all(|c| c["name"].as_str().unwrap().contains("finished")));

    // WSC turns slow and the cache goes stale (an action invalidates it): answers stay on time.
    for op in [Operation::List, Operation::Search] {
        bot.sim.set_fault(op, Fault { latency_ms: 5_000, ..Fault::default() });
    }
    let ask = bot.command(&operator(), "stop", instance("2000000001")).await;
    let confirmation = bot.original(ask).await;
    bot.sim.clear_faults();
    let confirm = bot.click(&operator(), "wsc:v1:confirm-stop:2000000001", confirmation).await;
    bot.follow_up(confirm).await;
    for op in [Operation::List, Operation::Search] {
        bot.sim.set_fault(op, Fault { latency_ms: 5_000, ..Fault::default() });
    }
    bot.sim.clear_requests();
    for _ in 0..10 {
        let started = Instant::now();
        let choices = bot.autocomplete(&operator(), "stop", "").await;
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "answered from the cache in {:?}",
            started.elapsed()
        );
        assert_eq!(choices.len(), 25);
    }
    // The first answer from the stale cache started one refresh; its first read (a search by
    // status) is now waiting 5 s on WSC. A stampede would have sent one per autocomplete.
    let started = Instant::now();
    while wsc_reads(&bot) == 0 && started.elapsed() < Duration::from_secs(2) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let reads: Vec<_> = bot.sim.requests().into_iter().map(|r| r.operation).collect();
    assert_eq!(reads, [Some(Operation::Search)], "one refresh, not none and not a stampede");
    bot.assert_payloads_valid();
    bot.finish().await;
}

#[tokio::test]
async fn autocomplete_before_any_fill_answers_rather_than_late() {
    let mut settings = settings();
    settings.faults = vec![(Operation::Search, Fault { latency_ms: 5_000, ..Fault::default() })];
    let bot = start_bot(settings, 10).await;
    let started = Instant::now();
    let choices = bot.autocomplete(&operator(), "stop", "").await;
    assert!(started.elapsed() < Duration::from_millis(2500), "{:?}", started.elapsed());
    assert!(choices.is_empty(), "nothing cached yet");
    // Free text keeps working: the job number typed in full.
    let ask = bot.command(&operator(), "stop", instance("1000000006")).await;
    assert!(content(&bot.original(ask).await).contains("Stop this scan?"));
    bot.finish().await;
}

#[tokio::test]
async fn search_filters_and_paging_keep_the_filter() {
    let bot = start_bot(settings(), 5).await;
    let id =
        bot.command(&viewer(), "jobs", json!([{"name": "url", "type": 3, "value": "example.com"}])).await;
    let message = bot.original(id).await;
    let text = content(&message);
    assert!(text.contains("page 1 of 2") && text.contains("Filter: URL contains `example.com`"), "{text}");
    let ids = custom_ids(&message);
    assert!(ids.contains(&"wsc:v1:page:2:u.example.com".to_owned()), "{ids:?}");
    assert!(ids.contains(&"wsc:v1:refresh:1:u.example.com".to_owned()));
    let search = &bot.sim.requests_for(Operation::Search)[0];
    assert_eq!(search.path_and_query, "/api/v1/jobs/search");

    let next = bot.click(&viewer(), "wsc:v1:page:2:u.example.com", message).await;
    let page_two = bot.original(next).await;
    assert!(content(&page_two).contains("page 2 of 2") && content(&page_two).contains("example.com"));
    assert_eq!(page_two["embeds"].as_array().unwrap().len(), 3);
    assert_eq!(bot.sim.requests_for(Operation::Search).len(), 2, "paging searched again with the filter");

    let running = bot.command(&viewer(), "jobs", json!([{"name": "status", "type": 4, "value": 3}])).await;
    let running = bot.original(running).await;
    assert_eq!(running["embeds"].as_array().unwrap().len(), 1);
    assert!(content(&running).contains("status Scan in progress (3)"), "{}", content(&running));

    let none =
        bot.command(&viewer(), "jobs", json!([{"name": "memo", "type": 3, "value": "no such memo"}])).await;
    assert!(content(&bot.original(none).await).starts_with("No jobs match this filter."));

    let both = bot
        .command(
            &viewer(),
            "jobs",
            json!([{"name": "url", "type": 3, "value": "a"}, {"name": "memo", "type": 3, "value": "b"}]),
        )
        .await;
    assert!(bot.callback(both).await.body["data"]["content"]
        .as_str()
        .unwrap()
        .contains("either url or memo"));

    let long = "example".repeat(30);
    let id = bot.command(&viewer(), "jobs", json!([{"name": "url", "type": 3, "value": long}])).await;
    let message = bot.original(id).await;
    assert!(content(&message).contains("the keyword was shortened to"), "{}", content(&message));
    assert!(custom_ids(&message).iter().all(|id| id.chars().count() <= 100));
    bot.assert_payloads_valid();
    bot.finish().await;
}

#[tokio::test]
async fn reports_present_expired_absent_and_not_ready() {
    let bot = start_bot(settings(), 5).await;
    let id = bot.command(&viewer(), "report", instance(&FINISHED.to_string())).await;
    assert!(is_ephemeral(&bot.callback(id).await.body["data"]));
    let report = bot.original(id).await;
    let embed = &report["embeds"][0];
    assert_eq!(embed["title"], "Report · blog.example.com");
    let field = |name: &str| {
        embed["fields"].as_array().unwrap().iter().find(|f| f["name"] == name).unwrap()["value"].clone()
    };
    assert_eq!(field("Total"), "14");
    assert_eq!(field("High"), "🔴 1");
    assert_eq!(field("Scan time"), "00:10:00");
    assert_eq!(field("Scanned domains"), "blog.example.com");
    assert!(field("Main vulnerability categories").as_str().unwrap().contains("SQL Injection"));

    let expired = bot.command(&viewer(), "report", instance(&EXPIRED.to_string())).await;
    assert!(content(&bot.original(expired).await).contains("has expired"));
    let absent = bot.command(&viewer(), "report", instance("999")).await;
    assert!(content(&bot.original(absent).await).contains("No job 999"));
    let running = bot.command(&viewer(), "report", instance("1000000006")).await;
    assert!(content(&bot.original(running).await).contains("has no report: the scan is *Scan in progress*"));

    let list = bot.command(&viewer(), "jobs", json!([])).await;
    let jobs = bot.original(list).await;
    let click = bot.click(&viewer(), &format!("wsc:v1:report:{FINISHED}"), jobs.clone()).await;
    assert_eq!(bot.original(click).await["embeds"][0]["title"], "Report · blog.example.com");
    let stranger_click = bot.click(&stranger(), &format!("wsc:v1:report:{FINISHED}"), jobs).await;
    assert!(bot.callback(stranger_click).await.body["data"]["content"]
        .as_str()
        .unwrap()
        .contains("You need"));
    assert_eq!(bot.sim.requests_for(Operation::Report).len(), 5);
    bot.assert_payloads_valid();
    bot.finish().await;
}

#[tokio::test]
async fn members_with_a_korean_discord_get_korean() {
    let bot = start_bot(settings(), 5).await;
    let id = bot.command_in("ko", &viewer(), "jobs", json!([])).await;
    let message = bot.original(id).await;
    assert!(content(&message).starts_with("**스캔 작업** · 2쪽 중 1쪽 · 작업 8개"), "{}", content(&message));
    let fields: Vec<&str> = message["embeds"][0]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(fields[..3], ["상태", "진행률", "시작"]);
    assert!(message["embeds"][0]["fields"][2]["value"].as_str().unwrap().ends_with(" KST"));

    let ask = bot.command_in("ko", &operator(), "stop", instance("1000000006")).await;
    let confirmation = bot.original(ask).await;
    assert!(content(&confirmation).contains("이 스캔을 중지할까요?"));
    let labels: Vec<&str> = confirmation["components"][0]["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["스캔 중지", "사유를 적고 중지…", "계속 진행"]);

    let denied = bot.command_in("ko", &stranger(), "stop", instance("1000000006")).await;
    assert!(bot.callback(denied).await.body["data"]["content"]
        .as_str()
        .unwrap()
        .contains("역할이 필요합니다"));
    let bad = bot.command_in("ko", &operator(), "stop", instance("abc")).await;
    assert!(bot.callback(bad).await.body["data"]["content"]
        .as_str()
        .unwrap()
        .contains("작업 번호가 아닙니다"));

    // Page 2: the first page is fresh and would not ask WSC.
    bot.sim.set_fault(Operation::List, Fault { error: Some(FaultError::Gateway(500)), ..Fault::default() });
    let failed =
        bot.command_in("ko", &viewer(), "jobs", json!([{"name": "page", "type": 4, "value": 2}])).await;
    let text = content(&bot.original(failed).await);
    assert!(text.contains("사용할 수 없습니다") && text.contains("(참조 `"), "{text}");
    bot.assert_payloads_valid();
    bot.finish().await;
}

#[tokio::test]
async fn the_channel_sees_the_guilds_language_and_the_sender_his_own() {
    use common::fake_discord::FakeDiscord;
    let private = json!([{"name": "private", "type": 5, "value": true}]);
    for front in FRONTS {
        let bot = start_bot_in(front, FakeDiscord::start().await, settings(), 5, &[]).await;
        // A member whose Discord is in Korean, in a server whose language is English.
        let command = |sub: &str, options: Value| bot.command_json("ko", "en-US", &operator(), sub, options);
        let click = |custom_id: &str, message: &Value| {
            bot.click_json("ko", "en-US", &operator(), custom_id, message.clone())
        };

        let list = bot.send(command("jobs", json!([]))).await;
        let public = bot.original(list).await;
        assert!(
            content(&public).starts_with("**Scan jobs** · page 1 of 2"),
            "{front:?}: {}",
            content(&public)
        );
        let older = bot.send(click("wsc:v1:page:2", &public)).await;
        let paged = bot.original(older).await;
        assert!(content(&paged).starts_with("**Scan jobs** · page 2 of 2"), "{front:?}: {}", content(&paged));
        let newer = bot.send(click("wsc:v1:page:1", &paged)).await;
        let back = bot.original(newer).await;
        assert!(content(&back).starts_with("**Scan jobs** · page 1 of 2"), "{front:?}: {}", content(&back));
        assert_eq!(back["embeds"][0]["fields"][0]["name"], "Status", "{front:?}");

        // What only he sees is in Korean: a private list and its paging, a confirmation.
        let mine = bot.send(command("jobs", private.clone())).await;
        let own = bot.original(mine).await;
        assert!(content(&own).starts_with("**스캔 작업** · 2쪽 중 1쪽"), "{front:?}: {}", content(&own));
        let mut own = own;
        own["flags"] = json!(64);
        let own_page = bot.send(click("wsc:v1:page:2", &own)).await;
        let own_paged = bot.original(own_page).await;
        assert!(
            content(&own_paged).starts_with("**스캔 작업** · 2쪽 중 2쪽"),
            "{front:?}: {}",
            content(&own_paged)
        );

        let ask = bot.send(click(&format!("wsc:v1:stop:{SCANNING}"), &back)).await;
        let confirmation = bot.original(ask).await;
        assert!(
            content(&confirmation).contains("이 스캔을 중지할까요?"),
            "{front:?}: {}",
            content(&confirmation)
        );
        let yes = custom_ids(&confirmation).into_iter().next().expect("the confirm button");
        let mut confirmation = confirmation;
        confirmation["flags"] = json!(64);
        let confirm = bot.send(click(&yes, &confirmation)).await;
        let done = bot.original(confirm).await;
        assert!(content(&done).contains("중지를 요청했습니다"), "{front:?}: {}", content(&done));
        // The outcome is the channel's: English.
        let outcome = bot.follow_up(confirm).await;
        let told = outcome.body["content"].as_str().unwrap_or_default();
        assert!(told.contains("stopped the scan of"), "{front:?}: {told}");
        bot.assert_payloads_valid();
        bot.finish().await;
    }
}

/// `/wsc jobs` while the newest list is fresh: that list is the first answer, however slow WSC
/// is, and says how old it is; Refresh asks WSC again, and so does the next list after a stop.
#[tokio::test]
async fn a_fresh_list_is_the_first_answer_and_says_how_old_it_is() {
    use common::fake_discord::FakeDiscord;
    let lists = |bot: &Bot| bot.sim.requests_for(Operation::List).len();
    for front in FRONTS {
        let bot = start_bot_in(front, FakeDiscord::start().await, settings(), 10, &[]).await;
        let first = bot.command(&viewer(), "jobs", json!([])).await;
        assert_eq!(bot.callback(first).await.body["type"], 5, "{front:?}: nothing known yet, so deferred");
        let asked = bot.original(first).await;
        assert_eq!(lists(&bot), 1);

        // WSC now takes 5 s to list: the fresh list answers all the same, at once.
        bot.sim.set_fault(Operation::List, Fault { latency_ms: 5_000, ..Fault::default() });
        let sent = Instant::now();
        let second = bot.command(&viewer(), "jobs", json!([])).await;
        let callback = bot.callback(second).await;
        assert!(callback.at.duration_since(sent) < Duration::from_secs(1), "{front:?}: answered at once");
        assert_eq!(callback.body["type"], 4, "{front:?}: the list itself is the first answer");
        assert!(!is_ephemeral(&callback.body["data"]), "{front:?}: the channel sees it");
        let cached = &callback.body["data"];
        let text = content(cached);
        assert!(text.starts_with("**Scan jobs** · page 1 of 2"), "{front:?}: {text}");
        let age = text.lines().last().unwrap_or_default();
        assert!(age.starts_with("-# As of ") && age.ends_with(" s ago · 🔄 Refresh asks WSC again"), "{age}");
        assert_eq!(cached["embeds"], asked["embeds"], "{front:?}: the same jobs");
        assert_eq!(custom_ids(cached), custom_ids(&asked), "{front:?}: the same buttons");
        assert_eq!(lists(&bot), 1, "{front:?}: WSC was not asked");

        // Asked privately, in Korean: the same list, only to the asker, in his language.
        let private = json!([{"name": "private", "type": 5, "value": true}]);
        let mine = bot.send(bot.command_json("ko", "en-US", &viewer(), "jobs", private)).await;
        let callback = bot.callback(mine).await;
        assert_eq!(callback.body["type"], 4, "{front:?}");
        assert!(is_ephemeral(&callback.body["data"]), "{front:?}");
        assert!(content(&callback.body["data"]).contains("초 전 기준"), "{front:?}");

        // Refresh asks WSC, slow as it is, and the message says nothing of an age.
        bot.sim.clear_faults();
        let refresh = bot.click(&viewer(), "wsc:v1:refresh:1", asked.clone()).await;
        let refreshed = bot.original(refresh).await;
        assert_eq!(lists(&bot), 2, "{front:?}: Refresh asked WSC");
        assert!(!content(&refreshed).contains("As of"), "{front:?}: {}", content(&refreshed));

        // A stop changes the jobs: the next list asks WSC first.
        let confirm = bot.confirm_stop(SCANNING).await;
        bot.original(confirm).await;
        let after = bot.command(&viewer(), "jobs", json!([])).await;
        assert_eq!(bot.callback(after).await.body["type"], 5, "{front:?}: deferred, WSC asked again");
        let listed = bot.original(after).await;
        assert!(lists(&bot) >= 3, "{front:?}");
        assert!(!content(&listed).contains("As of"), "{front:?}");
        bot.assert_payloads_valid();
        bot.finish().await;
    }
}
