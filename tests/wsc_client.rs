//! The WSC client against the simulator over real HTTP: every operation, error kind and quirk.

mod common;

use std::time::Duration;

use common::{client, client_with, settings, start_sim, ACCESS_KEY, SECRET_KEY};
use wsc_bot::wsc::sim::{Fault, FaultError, Phase, SettingsPatch};
use wsc_bot::wsc::{ErrorKind, JobState, Operation, SearchField, SearchQuery};

fn fault(error: FaultError) -> Fault {
    Fault { error: Some(error), ..Fault::default() }
}

#[tokio::test]
async fn lists_every_seeded_state_with_paging() {
    let sim = start_sim(settings()).await;
    let wsc = client(&sim);
    let page = wsc.list_jobs(1, 100).await.unwrap();
    assert_eq!((page.total, page.total_pages, page.jobs.len(), page.skipped), (8, 1, 8, 0));
    let states: Vec<JobState> = page.jobs.iter().map(|j| j.state.clone()).collect();
    use JobState::*;
    assert_eq!(states, [NotStarted, Running, Running, Finished, Failed, NoAction, NoAction, Expired]);
    let running = &page.jobs[2];
    assert_eq!(running.status_label, "Scan in progress");
    assert!(running.progress.is_some_and(|p| p > 30 && p < 100));
    assert!(page.jobs[4].result_desc.is_some(), "a failed job says why");

    let first = wsc.list_jobs(1, 3).await.unwrap();
    let last = wsc.list_jobs(3, 3).await.unwrap();
    let beyond = wsc.list_jobs(4, 3).await.unwrap();
    assert_eq!((first.total_pages, first.jobs.len(), last.jobs.len()), (3, 3, 2));
    assert!(beyond.jobs.is_empty(), "record_data: null decodes as no jobs");
    assert_eq!(first.jobs[0].instance_no, 1000000008);
    assert_eq!(last.jobs[1].instance_no, 1000000001);
}

#[tokio::test]
async fn status_labels_in_korean() {
    let mut settings = settings();
    settings.lang = wsc_bot::wsc::sim::Lang::Ko;
    let sim = start_sim(settings).await;
    let page = client(&sim).list_jobs(1, 2).await.unwrap();
    assert_eq!(page.jobs[0].status_label, "예약");
    assert_eq!(page.jobs[1].status_label, "URL 수집중");
}

#[tokio::test]
async fn searches_by_url_memo_any_field_and_status() {
    let sim = start_sim(settings()).await;
    let wsc = client(&sim);
    let search = |field, keyword: &str, status_code| SearchQuery {
        field,
        keyword: keyword.into(),
        status_code,
        page: 1,
        limit: 20,
    };
    let ids = |page: wsc_bot::wsc::JobPage| page.jobs.iter().map(|j| j.instance_no).collect::<Vec<_>>();

    assert_eq!(
        ids(wsc.search_jobs(&search(SearchField::Url, "API.example", None)).await.unwrap()),
        [1000000007]
    );
    assert_eq!(
        ids(wsc.search_jobs(&search(SearchField::Memo, "production", None)).await.unwrap()),
        [1000000006]
    );
    assert!(wsc.search_jobs(&search(SearchField::Url, "production", None)).await.unwrap().jobs.is_empty());
    assert_eq!(ids(wsc.search_jobs(&search(SearchField::Any, "audit", None)).await.unwrap()), [1000000001]);
    assert_eq!(ids(wsc.search_jobs(&search(SearchField::Any, "", Some(3))).await.unwrap()), [1000000006]);
    assert_eq!(ids(wsc.search_jobs(&search(SearchField::Any, "", Some(91))).await.unwrap()), [1000000003]);
    let mut paged = search(SearchField::Url, "example.com", None);
    paged.limit = 5;
    paged.page = 2;
    let page = wsc.search_jobs(&paged).await.unwrap();
    assert_eq!((page.total, page.total_pages, page.jobs.len()), (8, 2, 3));
}

#[tokio::test]
async fn cancel_only_before_start_stop_only_while_running() {
    let sim = start_sim(settings()).await;
    let wsc = client(&sim);
    wsc.cancel_job(1000000008).await.unwrap();
    assert_eq!(sim.phase(1000000008), Some(Phase::Cancelled));
    wsc.stop_job(1000000006).await.unwrap();
    assert_eq!(sim.phase(1000000006), Some(Phase::Stopping));
    sim.advance(Duration::from_secs(10));
    assert_eq!(sim.phase(1000000006), Some(Phase::Stopped));

    for (result, what) in [
        (wsc.cancel_job(1000000007).await, "cancel a running job"),
        (wsc.stop_job(1000000005).await, "stop a finished job"),
        (wsc.stop_job(1000000006).await, "stop a stopped job"),
        (wsc.cancel_job(42).await, "cancel an unknown job"),
    ] {
        let error = result.expect_err(what);
        assert_eq!(error.kind, ErrorKind::NotApplicable, "{what}");
        assert_eq!(error.code.as_deref(), Some("901"));
        assert_eq!(error.http_status, Some(200), "901 comes with HTTP 200 by default");
        assert!(error.request_id.is_some());
    }
    sim.update(SettingsPatch { wsc_error_status: Some(400), ..Default::default() }).unwrap();
    let error = wsc.stop_job(1000000005).await.unwrap_err();
    assert_eq!((error.kind, error.http_status), (ErrorKind::NotApplicable, Some(400)));
}

#[tokio::test]
async fn jobs_advance_with_the_simulated_clock() {
    let sim = start_sim(settings()).await;
    let wsc = client(&sim);
    sim.advance(Duration::from_secs(3610));
    let job = wsc.list_jobs(1, 1).await.unwrap().jobs.remove(0);
    assert_eq!(job.instance_no, 1000000008);
    assert_eq!(job.state, JobState::Running, "the scheduled job has started");
    sim.advance(Duration::from_secs(3600));
    let job = wsc.list_jobs(1, 1).await.unwrap().jobs.remove(0);
    assert_eq!((job.state, job.progress), (JobState::Finished, Some(100)));
    assert!(job.end_date.is_some());
}

#[tokio::test]
async fn report_present_expired_and_absent() {
    let sim = start_sim(settings()).await;
    let wsc = client(&sim);
    let report = wsc.report(1000000005).await.unwrap();
    assert_eq!(report.target.as_deref(), Some("https://blog.example.com/"));
    assert_eq!(
        (report.risk.total, report.risk.high, report.risk.medium, report.risk.low),
        (Some(14), Some(1), Some(4), Some(9))
    );
    assert_eq!(report.scanned_domains, ["blog.example.com"]);
    assert_eq!(report.categories.len(), 3);
    assert_eq!(report.scan_time.as_deref(), Some("00:10:00"));
    for id in [1000000001, 1000000006, 999] {
        assert_eq!(wsc.report(id).await.unwrap_err().kind, ErrorKind::NotApplicable, "{id}");
    }
}

#[tokio::test]
async fn every_gateway_error_code_becomes_its_kind() {
    let sim = start_sim(settings()).await;
    let wsc = client(&sim);
    let cases = [
        (100, 400, ErrorKind::Rejected),
        (200, 401, ErrorKind::Credentials),
        (210, 401, ErrorKind::Permission),
        (230, 403, ErrorKind::Permission),
        (300, 404, ErrorKind::Rejected),
        (430, 413, ErrorKind::Rejected),
        (400, 429, ErrorKind::RateLimited),
        (410, 429, ErrorKind::RateLimited),
        (420, 429, ErrorKind::RateLimited),
        (500, 503, ErrorKind::Unavailable),
        (510, 504, ErrorKind::Timeout),
        (900, 500, ErrorKind::Unavailable),
    ];
    for (code, status, kind) in cases {
        sim.set_fault(Operation::Cancel, fault(FaultError::Gateway(code)));
        let error = wsc.cancel_job(1000000008).await.unwrap_err();
        assert_eq!((error.kind, error.http_status), (kind, Some(status)), "gateway {code}");
        assert_eq!(error.code, Some(code.to_string()));
        assert!(error.request_id.is_some(), "x-ncp-request-id is kept for the log");
    }
    assert_eq!(sim.phase(1000000008), Some(Phase::Scheduled), "no fault changed the job");
}

#[tokio::test]
async fn wsc_error_codes_with_200_and_400() {
    let sim = start_sim(settings()).await;
    let wsc = client(&sim);
    for status in [200, 400] {
        sim.update(SettingsPatch { wsc_error_status: Some(status), ..Default::default() }).unwrap();
        for (code, kind) in [
            (901, ErrorKind::Unavailable),
            (169201, ErrorKind::Permission),
            (169202, ErrorKind::Account),
            (160332, ErrorKind::Rejected),
        ] {
            sim.set_fault(Operation::List, fault(FaultError::Wsc(code)));
            let error = wsc.list_jobs(1, 10).await.unwrap_err();
            assert_eq!((error.kind, error.http_status), (kind, Some(status)), "wsc {code} with {status}");
        }
        // On a report, 901 speaks of the job: expired, not finished or unknown.
        sim.set_fault(Operation::Report, fault(FaultError::Wsc(901)));
        assert_eq!(wsc.report(1000000005).await.unwrap_err().kind, ErrorKind::NotApplicable);
    }
}

#[tokio::test]
async fn bodies_that_cannot_be_read() {
    let sim = start_sim(settings()).await;
    let wsc = client(&sim);
    for (error, kind) in [
        (FaultError::Html, ErrorKind::Unavailable),
        (FaultError::Malformed, ErrorKind::Decode),
        (FaultError::Truncated, ErrorKind::Decode),
        (FaultError::Drop, ErrorKind::Unavailable),
        (FaultError::RateLimited, ErrorKind::RateLimited),
    ] {
        for op in [Operation::List, Operation::Report] {
            sim.set_fault(op, fault(error.clone()));
        }
        assert_eq!(wsc.list_jobs(1, 10).await.unwrap_err().kind, kind, "list with {error}");
        assert_eq!(wsc.report(1000000005).await.unwrap_err().kind, kind, "report with {error}");
    }
    // Every 5xx a load balancer may send bare: unavailable, except 504, a timeout.
    for status in 500..=511 {
        sim.set_fault(Operation::List, fault(FaultError::Status(status)));
        let error = wsc.list_jobs(1, 10).await.unwrap_err();
        let kind = if status == 504 { ErrorKind::Timeout } else { ErrorKind::Unavailable };
        assert_eq!((error.kind, error.http_status), (kind, Some(status)), "bare {status}");
    }
}

#[tokio::test]
async fn reads_are_retried_and_actions_never_are() {
    let sim = start_sim(settings()).await;
    let wsc = client(&sim);
    for op in Operation::ALL {
        sim.set_fault(op, fault(FaultError::Gateway(500)));
    }
    assert_eq!(wsc.list_jobs(1, 10).await.unwrap_err().kind, ErrorKind::Unavailable);
    assert_eq!(wsc.stop_job(1000000006).await.unwrap_err().kind, ErrorKind::Unavailable);
    assert_eq!(wsc.cancel_job(1000000008).await.unwrap_err().kind, ErrorKind::Unavailable);
    assert_eq!(sim.requests_for(Operation::List).len(), 3, "a read is tried three times");
    assert_eq!(sim.requests_for(Operation::Stop).len(), 1, "stop is never retried");
    assert_eq!(sim.requests_for(Operation::Cancel).len(), 1, "cancel is never retried");

    // A read that fails once or twice, then succeeds: retried until it does, three tries in all.
    for (failures, error) in [(1, FaultError::RateLimited), (2, FaultError::Status(503))] {
        sim.clear_requests();
        sim.set_fault(
            Operation::List,
            Fault { error: Some(error.clone()), times: Some(failures), ..Fault::default() },
        );
        let page = wsc.list_jobs(1, 10).await;
        assert_eq!(page.map(|p| p.jobs.len()).ok(), Some(8), "{error} {failures} time(s), then the answer");
        assert_eq!(sim.requests_for(Operation::List).len(), failures as usize + 1, "{error}");
    }
    // Failing a third time is one time too many.
    sim.clear_requests();
    sim.set_fault(
        Operation::List,
        Fault { error: Some(FaultError::Status(503)), times: Some(3), ..Fault::default() },
    );
    assert_eq!(wsc.list_jobs(1, 10).await.unwrap_err().kind, ErrorKind::Unavailable);
    assert_eq!(sim.requests_for(Operation::List).len(), 3);
    assert!(wsc.list_jobs(1, 10).await.is_ok(), "the fault is used up");

    sim.clear_requests();
    sim.set_fault(Operation::List, fault(FaultError::Wsc(160332)));
    assert_eq!(wsc.list_jobs(1, 10).await.unwrap_err().kind, ErrorKind::Rejected);
    assert_eq!(sim.requests_for(Operation::List).len(), 1, "a permanent error is not retried");
}

#[tokio::test]
async fn timeouts_for_reads_and_actions() {
    let sim = start_sim(settings()).await;
    let wsc = client_with(&sim.base_url(), ACCESS_KEY, SECRET_KEY, Duration::from_millis(300));
    for op in [Operation::List, Operation::Stop] {
        sim.set_fault(op, Fault { latency_ms: 2_000, ..Fault::default() });
    }
    let started = std::time::Instant::now();
    assert_eq!(wsc.stop_job(1000000006).await.unwrap_err().kind, ErrorKind::Timeout);
    assert!(started.elapsed() < Duration::from_millis(1500), "the timeout holds");
    // The timeout bounds the whole read: a timed-out attempt leaves no time for a retry.
    let started = std::time::Instant::now();
    assert_eq!(wsc.list_jobs(1, 10).await.unwrap_err().kind, ErrorKind::Timeout);
    assert!(started.elapsed() < Duration::from_millis(1000), "retries included: {:?}", started.elapsed());
    assert_eq!(sim.requests_for(Operation::List).len(), 1);
    assert_eq!(sim.requests_for(Operation::Stop).len(), 1);

    // A slow failure uses up the budget, so the read ends with WSC's error rather than a timeout.
    sim.clear_requests();
    sim.set_fault(
        Operation::List,
        Fault { latency_ms: 250, error: Some(FaultError::Gateway(500)), ..Fault::default() },
    );
    assert_eq!(wsc.list_jobs(1, 10).await.unwrap_err().kind, ErrorKind::Unavailable);
    assert_eq!(sim.requests_for(Operation::List).len(), 1);
}

#[tokio::test]
async fn connection_refused_is_unreachable() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let wsc =
        client_with(&format!("http://127.0.0.1:{port}"), ACCESS_KEY, SECRET_KEY, Duration::from_secs(2));
    let error = wsc.list_jobs(1, 10).await.unwrap_err();
    assert_eq!(error.kind, ErrorKind::Unreachable);
    assert!(!error.kind.sentence().is_empty());
}

#[tokio::test]
async fn wrong_keys_and_skewed_clocks_are_refused() {
    let sim = start_sim(settings()).await;
    let wrong_secret = client_with(&sim.base_url(), ACCESS_KEY, "wrong", Duration::from_secs(2));
    let wrong_access = client_with(&sim.base_url(), "wrong", SECRET_KEY, Duration::from_secs(2));
    for wsc in [wrong_secret, wrong_access] {
        let error = wsc.stop_job(1000000006).await.unwrap_err();
        assert_eq!(
            (error.kind, error.code.as_deref(), error.http_status),
            (ErrorKind::Credentials, Some("200"), Some(401))
        );
    }
    sim.update(SettingsPatch { clock_offset_secs: Some(-301), ..Default::default() }).unwrap();
    let error = client(&sim).list_jobs(1, 1).await.unwrap_err();
    assert_eq!(error.kind, ErrorKind::Credentials);
    let server = error.server_time.expect("the Date header is read");
    let behind = std::time::SystemTime::now().duration_since(server).unwrap();
    assert!(behind >= Duration::from_secs(299) && behind <= Duration::from_secs(303), "{behind:?}");
    sim.update(SettingsPatch { clock_offset_secs: Some(290), ..Default::default() }).unwrap();
    assert!(client(&sim).list_jobs(1, 1).await.is_ok(), "under five minutes is accepted");
    assert_eq!(sim.requests_for(Operation::Stop).iter().filter(|r| r.signature_valid).count(), 0);
    assert_eq!(sim.phase(1000000006), Some(Phase::Scanning));
}

#[tokio::test]
async fn the_client_signs_what_it_sends() {
    let sim = start_sim(settings()).await;
    let wsc = client(&sim);
    wsc.list_jobs(2, 3).await.unwrap();
    let query = SearchQuery {
        field: SearchField::Memo,
        keyword: "한국어 & =?".into(),
        status_code: Some(3),
        page: 1,
        limit: 5,
    };
    wsc.search_jobs(&query).await.unwrap();
    wsc.report(1000000005).await.unwrap();
    let seen: Vec<(String, String, bool)> =
        sim.requests().into_iter().map(|r| (r.method, r.path_and_query, r.signature_valid)).collect();
    assert_eq!(
        seen,
        [
            ("GET".into(), "/api/v1/jobs?limit=3&page=2".into(), true),
            ("POST".into(), "/api/v1/jobs/search".into(), true),
            ("GET".into(), "/api/v1/jobs/1000000005/report".into(), true),
        ]
    );
}

#[tokio::test]
async fn an_oversized_answer_is_a_decode_error_and_is_not_read_whole() {
    let sim = start_sim(settings()).await;
    let wsc = client(&sim);
    // 64 MiB of a well-formed, empty page, streamed without a length.
    sim.set_fault(Operation::List, fault(FaultError::Oversized));
    let started = std::time::Instant::now();
    let error = wsc.list_jobs(1, 10).await.unwrap_err();
    assert_eq!(error.kind, ErrorKind::Decode, "{error}");
    assert!(error.detail.contains("larger than 4 MiB"), "{}", error.detail);
    assert!(error.kind.sentence().starts_with("WSC answered with something the bot could not read"));
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    // The client hung up near the cap: what the simulator produced is the cap plus what the
    // loopback socket buffers held, far from the 64 MiB on offer.
    let sent = sim.oversized_bytes_sent();
    assert!(sent >= (wsc_bot::wsc::client::MAX_ANSWER_BYTES as u64), "{sent}");
    assert!(sent < 24 << 20, "the client read on: {sent} bytes produced");
    assert_eq!(sim.requests_for(Operation::List).len(), 1, "a decode error is not retried");
    // The next answer of ordinary size is read as before.
    sim.clear_faults();
    assert_eq!(wsc.list_jobs(1, 10).await.unwrap().jobs.len(), 8);
}

#[tokio::test]
async fn a_truncated_korean_answer_is_cut_on_bytes_without_a_panic() {
    let mut settings = settings();
    settings.lang = wsc_bot::wsc::sim::Lang::Ko;
    let sim = start_sim(settings).await;
    let wsc = client(&sim);
    sim.set_fault(Operation::List, fault(FaultError::Truncated));
    // A Korean memo makes up most of the answer, so its middle falls inside the memo; growing
    // the memo one character (three bytes) at a time moves the middle by one or two bytes, so
    // some of these cuts land inside a character.
    for (i, chars) in (2000..2006).enumerate() {
        let instance_no = 9000000000 + 2 * i as u64;
        sim.add_job(wsc_bot::wsc::sim::SeedJob {
            instance_no,
            start_url: "https://한국.example/".into(),
            memo: Some("가".repeat(chars)),
            phase: Phase::Scheduled,
            phase_percent: 0,
            starts_in_secs: 3600,
            crawl_secs: 60,
            scan_secs: 60,
            outcome: Default::default(),
            crawled_urls: 0,
            risk: [0, 0, 0],
            status_label: None,
        });
        let error = wsc.list_jobs(1, 1).await.unwrap_err();
        assert_eq!(error.kind, ErrorKind::Decode, "memo of {chars} characters: {error}");
    }
    assert_eq!(common::panics(), 0, "the simulator never panics on a cut");
}

#[tokio::test]
async fn the_request_log_keeps_the_newest_and_counts_them_all() {
    let mut settings = settings();
    settings.request_log_limit = 20;
    let sim = start_sim(settings).await;
    let wsc = client(&sim);
    for page in 1..=30 {
        wsc.list_jobs(page, 1).await.unwrap();
    }
    let kept = sim.requests();
    assert_eq!((kept.len(), sim.requests_total()), (20, 30));
    assert_eq!(kept[0].path_and_query, "/api/v1/jobs?limit=1&page=11", "the oldest were dropped");
    assert_eq!(kept[19].path_and_query, "/api/v1/jobs?limit=1&page=30");
    let control = reqwest::get(format!("{}/_sim/requests", sim.base_url())).await.unwrap();
    assert_eq!(control.headers()["x-sim-requests-total"], "30");
    assert_eq!(control.json::<Vec<serde_json::Value>>().await.unwrap().len(), 20);
    sim.clear_requests();
    assert_eq!((sim.requests().len(), sim.requests_total()), (0, 0));
    assert_eq!(wsc_bot::wsc::sim::SimSettings::new("a", "b").request_log_limit, 10_000, "bounded by default");
}
