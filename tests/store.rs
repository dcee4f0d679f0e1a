//! The `Store` contract, one suite for every implementation: `MemoryStore`, SQLite in a file of
//! a temporary directory, and PostgreSQL on a throwaway server (`common::postgres`). Each test
//! below runs once per engine (`memory::…`, `sqlite::…`, `postgres::…`); the SQL engines also
//! get the tests only a database can fail: racing connections, reopening, a newer schema.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use sqlx::Row;
use wsc_bot::bot::action::Act;
use wsc_bot::bot::audit::{AuditEvent, Outcome};
use wsc_bot::bot::ports::{now_ms, AuditQuery, AuditRecord, Store, StoreError, WatchedJob};
use wsc_bot::bot::watch::Stage;
use wsc_bot::store::{MemoryStore, OpenError};
use wsc_bot::wsc::ErrorKind;

const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);
/// A 19-digit job number the bot accepts (at most `9_999_999_999_999_999_999`) beyond `i64::MAX`.
const BEYOND_I64: u64 = 9_300_000_000_000_000_000;
/// A Discord id of today's size.
const SNOWFLAKE: u64 = 1_312_345_678_901_234_567;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Engine {
    Memory,
    Sqlite,
    Postgres,
}

/// One implementation under test, and what it takes to reach its data another way.
struct Subject {
    engine: Engine,
    store: Arc<dyn Store>,
    /// The database's URL (SQL engines).
    url: Option<String>,
    _dir: Option<common::TempDir>,
}

impl Subject {
    async fn new(engine: Engine) -> Subject {
        match engine {
            Engine::Memory => {
                Subject { engine, store: Arc::new(MemoryStore::default()), url: None, _dir: None }
            }
            Engine::Sqlite => {
                let dir = common::TempDir::new("store");
                let url = format!("sqlite://{}", dir.path().join("wsc-bot.db").display());
                Subject { engine, store: open(&url).await, url: Some(url), _dir: Some(dir) }
            }
            Engine::Postgres => {
                let url = common::postgres::database().await;
                Subject { engine, store: open(&url).await, url: Some(url), _dir: None }
            }
        }
    }

    /// Another handle on the same state, as a second process or replica has it: for SQL a pool
    /// of its own (`open` again), for memory the same store.
    async fn another(&self) -> Arc<dyn Store> {
        match &self.url {
            Some(url) => open(url).await,
            None => self.store.clone(),
        }
    }

    fn url(&self) -> &str {
        self.url.as_deref().expect("a SQL engine")
    }

    /// A connection pool of the test's own to the database, to look behind the store's back.
    async fn inspect(&self) -> sqlx::AnyPool {
        sqlx::any::install_default_drivers();
        sqlx::AnyPool::connect(self.url()).await.expect("the test connects to the database")
    }

    async fn count(&self, sql: &str) -> i64 {
        let pool = self.inspect().await;
        let count = sqlx::query(sql).fetch_one(&pool).await.expect(sql).get::<i64, _>(0);
        pool.close().await;
        count
    }
}

async fn open(url: &str) -> Arc<dyn Store> {
    Arc::new(wsc_bot::store::open(url).await.unwrap_or_else(|e| panic!("opening {url}: {e}")))
}

/// Defines each named test (an `async fn(Subject)` below) once per engine listed, in a module
/// named for the engine.
macro_rules! for_engines {
    ($($module:ident: $engine:ident),* ; $tests:tt) => {
        $(engine_module!($module, $engine, $tests);)*
    };
}

macro_rules! engine_module {
    ($module:ident, $engine:ident, [$($test:ident),* $(,)?]) => {
        mod $module {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test(super::Subject::new(super::Engine::$engine).await).await
                }
            )*
        }
    };
}

for_engines!(memory: Memory, sqlite: Sqlite, postgres: Postgres; [
    one_claim_at_a_time_released_only_by_its_holder,
    an_expired_claim_is_taken_over,
    a_job_number_beyond_i64_is_kept_like_any_other,
    racing_claims_and_leases_have_exactly_one_winner,
    an_interaction_is_first_delivered_once,
    the_watchers_memory_starts_empty_and_keeps_what_changed_per_channel,
    a_large_poll_is_saved_whole_and_a_job_listed_twice_as_last_seen,
    the_audit_trail_keeps_every_field_even_hostile_text,
    an_audit_event_carrying_a_nul_is_kept_not_refused,
    the_audit_trail_is_newest_first_filtered_by_time_and_job_and_limited,
    the_audit_trail_pages_and_filters_by_member_and_job,
    a_lease_is_renewed_by_its_holder_refused_to_another_and_taken_over_when_it_lapses,
    housekeeping_forgets_what_expired_and_audit_past_its_retention,
    an_attempt_without_an_outcome_is_unsettled_until_one_is_written,
    events_written_in_one_millisecond_keep_their_order,
    commands_are_registered_once_per_version_unless_it_failed,
    status_tells_the_engine_its_schema_and_the_live_leases,
    a_pending_request_is_taken_once_by_its_kind_until_it_expires,
    racing_takes_of_a_pending_request_have_exactly_one_winner,
    a_write_cut_short_leaves_the_store_whole_and_answering,
]);

for_engines!(sqlite_only: Sqlite, postgres_only: Postgres; [
    what_is_written_survives_reopening,
    a_newer_schema_is_refused_and_left_as_it_was,
    replicas_opening_a_new_database_at_once_all_succeed,
]);

async fn one_claim_at_a_time_released_only_by_its_holder(s: Subject) {
    let store = &s.store;
    assert_eq!(store.claim(1, "a", MINUTE).await, Ok(true));
    assert_eq!(store.claim(1, "b", MINUTE).await, Ok(false), "held by a");
    assert_eq!(
        store.claim(1, "a", MINUTE).await,
        Ok(false),
        "a claim is for one confirm: not twice by its holder"
    );
    assert_eq!(store.claim(2, "b", MINUTE).await, Ok(true), "another job is free");
    store.release(1, "b").await.unwrap();
    assert_eq!(store.claim(1, "c", MINUTE).await, Ok(false), "only the holder releases");
    store.release(1, "a").await.unwrap();
    assert_eq!(store.claim(1, "c", MINUTE).await, Ok(true), "released by its holder, free");
    store.release(3, "a").await.expect("releasing what nobody holds is no error");
    let largest = i64::MAX as u64;
    assert_eq!(store.claim(largest, "a", MINUTE).await, Ok(true), "i64::MAX is a job number like any");
    assert_eq!(store.claim(largest, "b", MINUTE).await, Ok(false));
}

async fn an_expired_claim_is_taken_over(s: Subject) {
    let store = &s.store;
    assert_eq!(store.claim(7, "crashed", Duration::ZERO).await, Ok(true));
    assert_eq!(store.claim(7, "b", MINUTE).await, Ok(true), "expired: taken over");
    assert_eq!(store.claim(7, "crashed", MINUTE).await, Ok(false), "now b's");
    store.release(7, "crashed").await.unwrap();
    assert_eq!(store.claim(7, "c", MINUTE).await, Ok(false), "the former holder cannot release b's claim");
}

async fn a_job_number_beyond_i64_is_kept_like_any_other(s: Subject) {
    let store = &s.store;
    let job = WatchedJob { stage: Stage::Running, message_id: Some(BEYOND_I64) };
    assert_eq!(store.claim(BEYOND_I64, "a", MINUTE).await, Ok(true));
    assert_eq!(store.claim(BEYOND_I64, "b", MINUTE).await, Ok(false), "claimed, across replicas too");
    store.release(BEYOND_I64, "a").await.unwrap();
    assert_eq!(store.claim(BEYOND_I64, "b", MINUTE).await, Ok(true), "released by its holder");
    store.save_watched(5, &[(1, job), (BEYOND_I64, job)]).await.unwrap();
    let watched = store.watched(5).await.unwrap().expect("a baseline");
    assert_eq!(watched.get(&BEYOND_I64), Some(&job), "{watched:?}");
    store.append_audit(&event(BEYOND_I64, Outcome::Attempted)).await.unwrap();
    let query = AuditQuery { instance: Some(BEYOND_I64), limit: 10, ..AuditQuery::default() };
    let trail = store.audit_trail(&query).await.unwrap();
    assert_eq!(trail.iter().map(|r| r.instance).collect::<Vec<_>>(), [BEYOND_I64]);
}

async fn racing_claims_and_leases_have_exactly_one_winner(s: Subject) {
    const RACERS: usize = 20;
    let handles = [s.store.clone(), s.another().await];
    let barrier = Arc::new(tokio::sync::Barrier::new(RACERS));
    let mut racers = Vec::new();
    for i in 0..RACERS {
        let store = handles[i % 2].clone();
        let barrier = barrier.clone();
        racers.push(tokio::spawn(async move {
            barrier.wait().await;
            let holder = format!("replica-{i}");
            let claimed = store.claim(SNOWFLAKE, &holder, MINUTE).await;
            let leased = store.lease("watch", &holder, MINUTE).await;
            (holder, claimed, leased)
        }));
    }
    let mut claimed_by = Vec::new();
    let mut leased_by = Vec::new();
    for racer in racers {
        let (holder, claimed, leased) = racer.await.expect("no racer panics");
        if claimed.expect("no claim fails") {
            claimed_by.push(holder.clone());
        }
        if leased.expect("no lease fails") {
            leased_by.push(holder);
        }
    }
    assert_eq!(claimed_by.len(), 1, "exactly one claim among {RACERS}: {claimed_by:?}");
    assert_eq!(leased_by.len(), 1, "exactly one lease among {RACERS}: {leased_by:?}");
    let status = handles[1].status().await.unwrap();
    assert_eq!(status.live_leases, vec![("watch".to_owned(), leased_by[0].clone())], "both handles agree");
}

async fn an_interaction_is_first_delivered_once(s: Subject) {
    let store = &s.store;
    assert_eq!(store.first_delivery(SNOWFLAKE).await, Ok(true));
    assert_eq!(store.first_delivery(SNOWFLAKE).await, Ok(false), "a repeat");
    assert_eq!(store.first_delivery(SNOWFLAKE + 1).await, Ok(true), "another interaction");
    // Forgetting happens 15 minutes on, which a test cannot wait for; until then it remembers,
    // housekeeping included.
    store.housekeep(Duration::ZERO).await.unwrap();
    assert_eq!(store.first_delivery(SNOWFLAKE).await, Ok(false), "still a repeat after housekeeping");
    let another = s.another().await;
    assert_eq!(another.first_delivery(SNOWFLAKE + 1).await, Ok(false), "a repeat for every handle");
}

async fn the_watchers_memory_starts_empty_and_keeps_what_changed_per_channel(s: Subject) {
    let store = &s.store;
    let channel = SNOWFLAKE;
    assert_eq!(store.watched(channel).await, Ok(None), "no baseline yet");
    store.save_watched(channel, &[]).await.unwrap();
    assert_eq!(store.watched(channel).await, Ok(Some(HashMap::new())), "an empty baseline is one");

    let stages = [
        Stage::Waiting,
        Stage::Running,
        Stage::Finished,
        Stage::Failed,
        Stage::Cancelled,
        Stage::Stopped,
        Stage::Other,
    ];
    let first: Vec<(u64, WatchedJob)> = stages
        .iter()
        .enumerate()
        .map(|(i, &stage)| {
            (i as u64 + 1, WatchedJob { stage, message_id: (i % 2 == 0).then_some(SNOWFLAKE + i as u64) })
        })
        .collect();
    store.save_watched(channel, &first).await.unwrap();
    assert_eq!(
        store.watched(channel).await,
        Ok(Some(first.iter().copied().collect())),
        "every stage, with and without a message"
    );

    // The next poll saves only what changed: an update, a new job; the rest stays.
    let finished = WatchedJob { stage: Stage::Finished, message_id: Some(SNOWFLAKE) };
    let largest = WatchedJob { stage: Stage::Running, message_id: Some(i64::MAX as u64) };
    store.save_watched(channel, &[(2, finished), (i64::MAX as u64, largest)]).await.unwrap();
    let mut expected: HashMap<u64, WatchedJob> = first.iter().copied().collect();
    expected.insert(2, finished);
    expected.insert(i64::MAX as u64, largest);
    assert_eq!(store.watched(channel).await, Ok(Some(expected.clone())));

    assert_eq!(store.watched(channel + 1).await, Ok(None), "per channel");
    let other = WatchedJob { stage: Stage::Waiting, message_id: None };
    store.save_watched(channel + 1, &[(2, other)]).await.unwrap();
    assert_eq!(store.watched(channel + 1).await, Ok(Some(HashMap::from([(2, other)]))));
    assert_eq!(store.watched(channel).await, Ok(Some(expected)), "the other channel is untouched");
}

/// A poll of thousands of jobs (saved many a statement), one of them listed twice as WSC's
/// pages shifted: the last seen is kept.
async fn a_large_poll_is_saved_whole_and_a_job_listed_twice_as_last_seen(s: Subject) {
    let store = &s.store;
    let job = |stage, message: u64| WatchedJob { stage, message_id: Some(SNOWFLAKE + message) };
    let mut poll: Vec<(u64, WatchedJob)> = (0..2_345u64).map(|i| (i, job(Stage::Running, i))).collect();
    poll.push((7, job(Stage::Finished, 0)));
    store.save_watched(SNOWFLAKE, &poll).await.unwrap();
    let mut expected: HashMap<u64, WatchedJob> = (0..2_345u64).map(|i| (i, job(Stage::Running, i))).collect();
    expected.insert(7, job(Stage::Finished, 0));
    assert_eq!(store.watched(SNOWFLAKE).await, Ok(Some(expected)));
}

/// A call dropped part-way, as the guard's time limit drops one: what it wrote is there whole or
/// not at all, and the writes after it are committed, seen by another handle. A connection left
/// inside the dropped transaction would answer its own writes, which nobody else would see: on
/// PostgreSQL, sqlx left one so when a BEGIN was dropped before its answer (see `save_watched`).
async fn a_write_cut_short_leaves_the_store_whole_and_answering(s: Subject) {
    let other = s.another().await;
    let poll: Vec<(u64, WatchedJob)> =
        (0..20_000u64).map(|i| (i, WatchedJob { stage: Stage::Running, message_id: Some(i) })).collect();
    let started = std::time::Instant::now();
    assert_eq!(s.store.save_watched(SNOWFLAKE, &poll).await, Ok(()), "a poll saved whole");
    let whole = started.elapsed();
    assert_eq!(other.watched(SNOWFLAKE).await.unwrap().map(|jobs| jobs.len()), Some(poll.len()));
    // Cut after its first poll, then a tenth, half and nine tenths of the way through.
    for tenths in [0, 1, 5, 9] {
        let channel = SNOWFLAKE + 1 + tenths;
        let save = s.store.save_watched(channel, &poll);
        if tenths == 0 {
            let cut = futures_util::FutureExt::now_or_never(save);
            if s.engine != Engine::Memory {
                assert!(cut.is_none(), "a database's write is cut short before its first answer");
            }
        } else {
            let _ = tokio::time::timeout(whole * tenths as u32 / 10, save).await;
        }
        // A connection left inside the cut transaction would make the next calls wait on its
        // locks for ever: they are given 30 s.
        let after_the_cut = async {
            let saved = other.watched(channel).await.expect("the watcher's memory is read");
            let saved = saved.map_or(0, |jobs| jobs.len());
            assert!(saved == 0 || saved == poll.len(), "cut at {tenths}/10: {saved} jobs were saved");

            assert_eq!(s.store.claim(channel, "next", MINUTE).await, Ok(true), "cut at {tenths}/10");
            assert_eq!(
                other.claim(channel, "other", MINUTE).await,
                Ok(false),
                "committed, cut at {tenths}/10"
            );
            assert_eq!(s.store.save_watched(channel, &poll).await, Ok(()), "cut at {tenths}/10");
            let saved = other.watched(channel).await.unwrap().map(|jobs| jobs.len());
            assert_eq!(saved, Some(poll.len()), "the next save is whole, cut at {tenths}/10");
        };
        tokio::time::timeout(Duration::from_secs(30), after_the_cut)
            .await
            .unwrap_or_else(|_| panic!("the store did not answer within 30 s after a cut at {tenths}/10"));
    }
}

fn event(instance: u64, outcome: Outcome) -> AuditEvent {
    AuditEvent {
        at_ms: now_ms(),
        correlation: format!("corr-{instance}"),
        interaction: SNOWFLAKE,
        actor_id: SNOWFLAKE + 1,
        actor_name: "ops".to_owned(),
        matched_role: None,
        act: Act::Stop,
        instance,
        target_url: None,
        outcome,
        wsc_code: None,
        request_id: None,
        latency_ms: 0,
        reason: None,
    }
}

async fn an_attempt_without_an_outcome_is_unsettled_until_one_is_written(s: Subject) {
    let store = &s.store;
    let attempt = |correlation: &str, instance| AuditEvent {
        correlation: correlation.to_owned(),
        ..event(instance, Outcome::Attempted)
    };
    let outcome = |correlation: &str, instance, outcome| AuditEvent {
        correlation: correlation.to_owned(),
        ..event(instance, outcome)
    };
    store.append_audit(&attempt("interrupted", 1)).await.unwrap();
    store.append_audit(&attempt("finished", 2)).await.unwrap();
    store.append_audit(&outcome("finished", 2, Outcome::Done)).await.unwrap();
    store.append_audit(&outcome("refused", 3, Outcome::Denied)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(3)).await;
    let later = now_ms();
    store.append_audit(&attempt("too-young", 4)).await.unwrap();

    let unsettled = store.unsettled_attempts(later).await.unwrap();
    let found: Vec<(&str, u64)> = unsettled.iter().map(|r| (r.correlation.as_str(), r.instance)).collect();
    assert_eq!(found, [("interrupted", 1)], "only an attempt older than the bound with no outcome");
    assert_eq!(unsettled[0].outcome, "attempted");

    store.append_audit(&outcome("interrupted", 1, Outcome::Unconfirmed)).await.unwrap();
    assert_eq!(
        store.unsettled_attempts(now_ms() + 1).await.unwrap().iter().map(|r| r.instance).collect::<Vec<_>>(),
        [4]
    );
}

async fn commands_are_registered_once_per_version_unless_it_failed(s: Subject) {
    let store = &s.store;
    assert_eq!(store.first_registration("1.0-aa").await, Ok(true));
    assert_eq!(store.first_registration("1.0-aa").await, Ok(false), "registered already");
    assert_eq!(store.first_registration("1.0-bb").await, Ok(true), "another version");
    store.forget_registration("1.0-aa").await.unwrap();
    assert_eq!(store.first_registration("1.0-aa").await, Ok(true), "Discord refused it: again");
}

async fn events_written_in_one_millisecond_keep_their_order(s: Subject) {
    let store = &s.store;
    for instance in 1..=50 {
        store.append_audit(&event(instance, Outcome::Done)).await.unwrap();
    }
    let records = trail(store, AuditQuery { limit: 100, ..AuditQuery::default() }).await;
    let newest_first: Vec<u64> = (1..=50).rev().collect();
    assert_eq!(records.iter().map(|r| r.instance).collect::<Vec<_>>(), newest_first);
}

async fn trail(store: &Arc<dyn Store>, query: AuditQuery) -> Vec<AuditRecord> {
    store.audit_trail(&query).await.expect("the audit trail is read")
}

/// The trail's events as (instance, outcome), for comparing orders.
fn summary(records: &[AuditRecord]) -> Vec<(u64, String)> {
    records.iter().map(|r| (r.instance, r.outcome.clone())).collect()
}

async fn the_audit_trail_keeps_every_field_even_hostile_text(s: Subject) {
    let store = &s.store;
    let hostile =
        "김민수 <@&1> @everyone `x` **굵게** \n\r\t ' \"; DROP TABLE audit_events; -- \\ %_ \u{202e}🚀";
    let before = now_ms();
    let full = AuditEvent {
        at_ms: now_ms(),
        correlation: "7f3a-상관".to_owned(),
        interaction: i64::MAX as u64,
        actor_id: SNOWFLAKE,
        actor_name: hostile.to_owned(),
        matched_role: Some(SNOWFLAKE + 9),
        act: Act::Cancel,
        instance: 123_456_789_012_345_678,
        target_url: Some(format!("https://예시.kr/{}?q='1'--", "경로".repeat(500))),
        outcome: Outcome::Failed(ErrorKind::Timeout),
        wsc_code: Some("169201".to_owned()),
        request_id: Some("req-\"';".to_owned()),
        latency_ms: 9_999_999,
        reason: Some(hostile.repeat(20)),
    };
    store.append_audit(&full).await.unwrap();
    tokio::time::sleep(Duration::from_millis(3)).await;
    let bare = event(5, Outcome::Denied);
    store.append_audit(&bare).await.unwrap();
    let after = now_ms();

    let records = trail(store, AuditQuery { limit: 10, ..AuditQuery::default() }).await;
    assert_eq!(records.len(), 2, "{records:?}");
    for (record, event) in records.iter().zip([&bare, &full]) {
        assert!(
            (before..=after).contains(&record.at_ms),
            "the time it happened: {} not in {before}..={after}",
            record.at_ms
        );
        assert_eq!(record, &event.record(), "every field as it was given");
    }
    assert_eq!(
        (records[0].outcome.as_str(), records[1].outcome.as_str()),
        ("denied", ErrorKind::Timeout.name())
    );
    assert_eq!(records[1].action, "cancel");
}

async fn an_audit_event_carrying_a_nul_is_kept_not_refused(s: Subject) {
    // PostgreSQL's text cannot hold a NUL; text from WSC or Discord may carry one all the same.
    let nul = "a\0b";
    let event = AuditEvent {
        actor_name: nul.to_owned(),
        target_url: Some(format!("https://x.example/{nul}")),
        wsc_code: Some(nul.to_owned()),
        request_id: Some(nul.to_owned()),
        reason: Some(nul.to_owned()),
        correlation: nul.to_owned(),
        ..event(1, Outcome::Done)
    };
    store_ok(s.store.append_audit(&event).await, "an event with a NUL is appended");
    let records = trail(&s.store, AuditQuery { limit: 10, ..AuditQuery::default() }).await;
    assert_eq!(records.len(), 1);
    let mut expected = event.record();
    if s.engine != Engine::Memory {
        // The SQL engines alike keep U+FFFD in its place.
        let kept = |text: &str| text.replace('\0', "\u{FFFD}");
        expected.actor_name = kept(&expected.actor_name);
        expected.correlation = kept(&expected.correlation);
        for text in
            [&mut expected.target_url, &mut expected.wsc_code, &mut expected.request_id, &mut expected.reason]
        {
            *text = text.as_deref().map(kept);
        }
    }
    assert_eq!(records[0], expected);
}

fn store_ok(result: Result<(), StoreError>, what: &str) {
    if let Err(error) = result {
        panic!("{what}: {error}");
    }
}

async fn the_audit_trail_is_newest_first_filtered_by_time_and_job_and_limited(s: Subject) {
    let store = &s.store;
    let everything = || AuditQuery { limit: 100, ..AuditQuery::default() };
    assert_eq!(trail(store, everything()).await, vec![], "empty at first");
    // Apart by a few milliseconds each, so that "newest" is well defined.
    let pause = || tokio::time::sleep(Duration::from_millis(3));
    store.append_audit(&event(1, Outcome::Attempted)).await.unwrap();
    pause().await;
    store.append_audit(&event(1, Outcome::Done)).await.unwrap();
    pause().await;
    let middle = now_ms();
    store.append_audit(&event(2, Outcome::NotFound)).await.unwrap();
    pause().await;
    store.append_audit(&event(1, Outcome::AlreadyInProgress)).await.unwrap();

    let all = summary(&trail(store, everything()).await);
    let expected = [(1, "already_in_progress"), (2, "not_found"), (1, "done"), (1, "attempted")];
    assert_eq!(all, expected.map(|(i, o)| (i, o.to_owned())), "newest first");
    let since = summary(&trail(store, AuditQuery { since_ms: middle, ..everything() }).await);
    assert_eq!(since, all[..2], "since a time (inclusive)");
    let job_1 = summary(&trail(store, AuditQuery { instance: Some(1), ..everything() }).await);
    assert_eq!(job_1, vec![all[0].clone(), all[2].clone(), all[3].clone()], "one job's");
    let both =
        summary(&trail(store, AuditQuery { since_ms: middle, instance: Some(1), ..everything() }).await);
    assert_eq!(both, all[..1], "one job's since a time");
    let limited = summary(&trail(store, AuditQuery { limit: 2, ..everything() }).await);
    assert_eq!(limited, all[..2], "the newest within the limit");
    assert_eq!(trail(store, AuditQuery { limit: 0, ..everything() }).await, vec![]);
    assert_eq!(
        trail(store, AuditQuery { instance: Some(3), ..everything() }).await,
        vec![],
        "a job without events"
    );
    assert_eq!(trail(store, AuditQuery { since_ms: now_ms() + 60_000, ..everything() }).await, vec![]);
}

/// `/wsc audit`'s pages: a member's events (a snowflake beyond `i64::MAX` too), one job's, both,
/// and any page past the end, newest first.
async fn the_audit_trail_pages_and_filters_by_member_and_job(s: Subject) {
    let store = &s.store;
    let members = [SNOWFLAKE, BEYOND_I64];
    for n in 0..12u64 {
        let member = members[(n % 2) as usize];
        let event = AuditEvent { actor_id: member, ..event(1 + n % 3, Outcome::Done) };
        store.append_audit(&AuditEvent { correlation: format!("c{n:02}"), ..event }).await.unwrap();
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let page = |actor: Option<u64>, instance: Option<u64>, offset: u32| {
        let query = AuditQuery { actor, instance, offset, limit: 5, ..AuditQuery::default() };
        async move {
            let records = trail(store, query).await;
            records.iter().map(|r| (r.correlation.clone(), r.actor_id, r.instance)).collect::<Vec<_>>()
        }
    };
    let correlations = |rows: &[(String, u64, u64)]| rows.iter().map(|r| r.0.clone()).collect::<Vec<_>>();
    assert_eq!(correlations(&page(None, None, 0).await), ["c11", "c10", "c09", "c08", "c07"]);
    assert_eq!(correlations(&page(None, None, 10).await), ["c01", "c00"], "the last page");
    assert!(page(None, None, 15).await.is_empty(), "past the end");
    let second = page(Some(BEYOND_I64), None, 5).await;
    assert_eq!(correlations(&second), ["c01"], "the member's second page");
    let first = page(Some(BEYOND_I64), None, 0).await;
    assert_eq!(correlations(&first), ["c11", "c09", "c07", "c05", "c03"]);
    assert!(first.iter().all(|r| r.1 == BEYOND_I64));
    let both = page(Some(SNOWFLAKE), Some(1), 0).await;
    assert_eq!(correlations(&both), ["c06", "c00"], "a member's events on one job");
    assert!(page(Some(SNOWFLAKE + 5), None, 0).await.is_empty(), "a member who never asked");
}

async fn a_lease_is_renewed_by_its_holder_refused_to_another_and_taken_over_when_it_lapses(s: Subject) {
    let store = &s.store;
    assert_eq!(store.lease("watch", "a", MINUTE).await, Ok(true));
    assert_eq!(store.lease("watch", "a", MINUTE).await, Ok(true), "renewed by its holder");
    assert_eq!(store.lease("watch", "b", MINUTE).await, Ok(false), "refused to another");
    assert_eq!(store.lease("presence", "b", MINUTE).await, Ok(true), "another name is free");
    assert_eq!(store.lease("watch", "a", Duration::ZERO).await, Ok(true), "renewed to lapse now");
    assert_eq!(store.lease("watch", "b", MINUTE).await, Ok(true), "lapsed: taken over");
    assert_eq!(store.lease("watch", "a", MINUTE).await, Ok(false), "now b's");
    let name = "이름 '; DROP TABLE leases; --";
    assert_eq!(store.lease(name, "a", MINUTE).await, Ok(true), "any name");
    assert_eq!(store.lease(name, "b", MINUTE).await, Ok(false));
}

async fn housekeeping_forgets_what_expired_and_audit_past_its_retention(s: Subject) {
    let store = &s.store;
    assert_eq!(store.claim(1, "a", Duration::ZERO).await, Ok(true));
    assert_eq!(store.claim(2, "a", HOUR).await, Ok(true));
    assert_eq!(store.lease("lapsed", "a", Duration::ZERO).await, Ok(true));
    assert_eq!(store.lease("live", "b", HOUR).await, Ok(true));
    store.append_audit(&event(1, Outcome::Done)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;

    store.housekeep(HOUR).await.unwrap();
    if s.url.is_some() {
        // Gone from the tables, not merely ignored.
        assert_eq!(s.count("SELECT COUNT(*) FROM claims").await, 1, "the expired claim is deleted");
        assert_eq!(s.count("SELECT COUNT(*) FROM leases").await, 1, "the lapsed lease is deleted");
    }
    assert_eq!(
        trail(store, AuditQuery { limit: 10, ..AuditQuery::default() }).await.len(),
        1,
        "within retention"
    );
    assert_eq!(store.claim(2, "b", MINUTE).await, Ok(false), "a live claim is kept");
    assert_eq!(store.lease("live", "a", MINUTE).await, Ok(false), "a live lease is kept");
    assert_eq!(store.status().await.unwrap().live_leases, vec![("live".to_owned(), "b".to_owned())]);
    assert_eq!(store.claim(1, "b", MINUTE).await, Ok(true), "the expired one is free");

    store.housekeep(Duration::from_millis(1)).await.unwrap();
    assert_eq!(
        trail(store, AuditQuery { limit: 10, ..AuditQuery::default() }).await,
        vec![],
        "older than retention"
    );
    if s.url.is_some() {
        assert_eq!(s.count("SELECT COUNT(*) FROM audit_events").await, 0);
    }
}

async fn status_tells_the_engine_its_schema_and_the_live_leases(s: Subject) {
    let store = &s.store;
    let (engine, schema) = match s.engine {
        Engine::Memory => ("memory", 0),
        Engine::Sqlite => ("sqlite", 2),
        Engine::Postgres => ("postgres", 2),
    };
    let status = store.status().await.unwrap();
    assert_eq!((status.engine, status.schema_version, status.live_leases), (engine, schema, vec![]));
    assert_eq!(store.lease("watch", "replica-b", MINUTE).await, Ok(true));
    assert_eq!(store.lease("presence/replica-a", "replica-a", MINUTE).await, Ok(true));
    assert_eq!(store.lease("lapsed", "replica-c", Duration::ZERO).await, Ok(true));
    let mut live = store.status().await.unwrap().live_leases;
    live.sort();
    let expected = [("presence/replica-a", "replica-a"), ("watch", "replica-b")];
    assert_eq!(live, expected.map(|(n, h)| (n.to_owned(), h.to_owned())), "unexpired leases only");
}

async fn a_pending_request_is_taken_once_by_its_kind_until_it_expires(s: Subject) {
    let store = &s.store;
    let payload = r#"{"url":"https://shop.example.com/?q='; DROP TABLE x; --","memo":"한국 \u0000"}"#;
    store.put_pending("abc123", "scan", payload, MINUTE).await.unwrap();
    assert_eq!(store.take_pending("abc123", "stop-all").await, Ok(None), "another kind's id takes nothing");
    let other = s.another().await;
    assert_eq!(
        other.take_pending("abc123", "scan").await,
        Ok(Some(payload.to_owned())),
        "any replica reads it"
    );
    assert_eq!(store.take_pending("abc123", "scan").await, Ok(None), "taken once");
    assert_eq!(store.take_pending("never", "scan").await, Ok(None));
    store.put_pending("lapsed", "scan", "{}", Duration::ZERO).await.unwrap();
    assert_eq!(store.take_pending("lapsed", "scan").await, Ok(None), "expired");
    store.put_pending("kept", "stop-all", "[1,2]", HOUR).await.unwrap();
    store.put_pending("gone", "stop-all", "[3]", Duration::ZERO).await.unwrap();
    store.housekeep(HOUR).await.unwrap();
    if s.url.is_some() {
        assert_eq!(s.count("SELECT COUNT(*) FROM pending_requests").await, 1, "the expired two are deleted");
    }
    assert_eq!(
        store.take_pending("kept", "stop-all").await,
        Ok(Some("[1,2]".to_owned())),
        "a live one is kept"
    );
}

async fn racing_takes_of_a_pending_request_have_exactly_one_winner(s: Subject) {
    const RACERS: usize = 20;
    s.store.put_pending("race", "scan", "{}", MINUTE).await.unwrap();
    let handles = [s.store.clone(), s.another().await];
    let barrier = Arc::new(tokio::sync::Barrier::new(RACERS));
    let racers: Vec<_> = (0..RACERS)
        .map(|i| {
            let (store, barrier) = (handles[i % 2].clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                store.take_pending("race", "scan").await
            })
        })
        .collect();
    let mut winners = 0;
    for racer in racers {
        if racer.await.expect("no racer panics").expect("no take fails").is_some() {
            winners += 1;
        }
    }
    assert_eq!(winners, 1, "exactly one of {RACERS} confirms gets the request");
}

async fn what_is_written_survives_reopening(s: Subject) {
    let job = WatchedJob { stage: Stage::Stopped, message_id: Some(SNOWFLAKE) };
    {
        let store = &s.store;
        assert_eq!(store.claim(1, "a", HOUR).await, Ok(true));
        assert_eq!(store.first_delivery(SNOWFLAKE).await, Ok(true));
        store.save_watched(9, &[(1, job)]).await.unwrap();
        store.save_watched(10, &[]).await.unwrap();
        store.append_audit(&event(1, Outcome::Done)).await.unwrap();
        assert_eq!(store.lease("watch", "a", HOUR).await, Ok(true));
    }
    let Subject { store, url, _dir, .. } = s;
    drop(store);
    let store = open(url.as_deref().unwrap()).await;
    assert_eq!(store.claim(1, "b", MINUTE).await, Ok(false), "the claim");
    assert_eq!(store.first_delivery(SNOWFLAKE).await, Ok(false), "the interaction");
    assert_eq!(store.watched(9).await, Ok(Some(HashMap::from([(1, job)]))), "the watcher's memory");
    assert_eq!(store.watched(10).await, Ok(Some(HashMap::new())), "an empty baseline");
    let records = trail(&store, AuditQuery { limit: 10, ..AuditQuery::default() }).await;
    assert_eq!(summary(&records), vec![(1, "done".to_owned())], "the audit trail");
    assert_eq!(store.lease("watch", "b", MINUTE).await, Ok(false), "the lease");
    assert_eq!(store.status().await.unwrap().schema_version, 2, "migrations are not run twice");
}

async fn a_newer_schema_is_refused_and_left_as_it_was(s: Subject) {
    assert_eq!(s.store.claim(1, "a", HOUR).await, Ok(true));
    let future = match s.engine {
        Engine::Postgres => {
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (99, 'from the future', TRUE, decode('00', 'hex'), 0)"
        }
        _ => {
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (99, 'from the future', TRUE, X'00', 0)"
        }
    };
    let pool = s.inspect().await;
    sqlx::query(future).execute(&pool).await.expect("a migration from the future");
    let tables = "SELECT COUNT(*) FROM claims";
    let before = sqlx::query(tables).fetch_one(&pool).await.unwrap().get::<i64, _>(0);

    let error = wsc_bot::store::open(s.url()).await.err().expect("a newer schema is refused");
    assert!(matches!(error, OpenError::Newer { found: 99, known: 2 }), "{error:?}");
    let sentence = error.to_string();
    assert!(
        sentence.contains("newer wsc-bot") && sentence.contains("version 99") && sentence.contains("up to 2"),
        "{sentence}"
    );

    let versions: Vec<i64> = sqlx::query("SELECT version FROM _sqlx_migrations ORDER BY version")
        .fetch_all(&pool)
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(versions, vec![1, 2, 99], "the migrations table is as it was");
    for table in [
        "claims",
        "seen_interactions",
        "watch_baselines",
        "watch_jobs",
        "audit_events",
        "leases",
        "pending_requests",
    ] {
        sqlx::query(&format!("SELECT COUNT(*) FROM {table}")).fetch_one(&pool).await.expect(table);
    }
    assert_eq!(sqlx::query(tables).fetch_one(&pool).await.unwrap().get::<i64, _>(0), before, "the data too");
    pool.close().await;
    assert_eq!(s.store.claim(1, "b", MINUTE).await, Ok(false), "the claim is still there");
}

async fn replicas_opening_a_new_database_at_once_all_succeed(s: Subject) {
    // A new, empty database each round (`s` has opened its own already), opened by four at once:
    // one applies the migrations, the others find them applied. SQLite has no lock for it and
    // loses the race only sometimes, hence the rounds.
    let rounds = if s.engine == Engine::Sqlite { 8 } else { 2 };
    for round in 0..rounds {
        let url = match s.engine {
            Engine::Postgres => common::postgres::database().await,
            _ => s.url().replace("wsc-bot.db", &format!("fresh-{round}.db")),
        };
        let opens = (0..4).map(|_| wsc_bot::store::open(&url));
        let stores: Vec<_> = futures_util::future::join_all(opens)
            .await
            .into_iter()
            .enumerate()
            .map(|(i, store)| store.unwrap_or_else(|e| panic!("round {round}: opener {i} failed: {e}")))
            .collect();
        assert_eq!(stores[0].claim(1, "a", MINUTE).await, Ok(true));
        for store in &stores[1..] {
            assert_eq!(store.claim(1, "b", MINUTE).await, Ok(false), "one database");
            assert_eq!(store.status().await.unwrap().schema_version, 2);
        }
    }
}

/// The harness's own server, killed (SIGKILL, by pid) under an open store and started again on
/// the same data directory and port: the store fails while it is down, and what was committed
/// is there after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_killed_and_restarted_keeps_what_was_committed_and_the_store_reconnects() {
    let server = common::postgres::Postgres::start();
    let url = server.new_database().await;
    let store = open(&url).await;
    assert_eq!(store.claim(1, "a", HOUR).await, Ok(true));
    let pid = server.pid().expect("running");

    server.kill();
    assert!(std::fs::metadata(format!("/proc/{pid}")).is_err(), "the postmaster is gone");
    let started = std::time::Instant::now();
    let down = store.claim(2, "a", HOUR).await;
    assert!(down.is_err(), "a store call fails while PostgreSQL is down: {down:?}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "and within the pool's 5 s: {:?}",
        started.elapsed()
    );

    server.restart();
    assert_ne!(server.pid(), Some(pid), "a new postmaster");
    assert_eq!(store.claim(1, "b", MINUTE).await, Ok(false), "the claim made before the kill is there");
    assert_eq!(store.claim(2, "a", HOUR).await, Ok(true), "the same store works again");
}

/// Another connection holding a SQLite file's write lock (as another process would) past
/// SQLite's wait (5 s) makes a write fail, not hang; once it lets go, the next write succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_refused_while_another_connection_holds_the_lock_fails_and_the_next_succeeds() {
    let s = Subject::new(Engine::Sqlite).await;
    assert_eq!(s.store.claim(1, "a", MINUTE).await, Ok(true));
    let pool = s.inspect().await;
    let mut holder = pool.acquire().await.expect("the test's own connection");
    sqlx::query("BEGIN IMMEDIATE").execute(&mut *holder).await.expect("the write lock");
    let started = std::time::Instant::now();
    let refused = s.store.claim(2, "a", MINUTE).await;
    assert!(refused.is_err(), "a write while the lock is held elsewhere fails: {refused:?}");
    assert!(started.elapsed() < Duration::from_secs(10), "after SQLite's wait: {:?}", started.elapsed());
    sqlx::query("ROLLBACK").execute(&mut *holder).await.expect("the lock let go");
    assert_eq!(s.store.claim(2, "a", MINUTE).await, Ok(true), "the next write succeeds");
    assert_eq!(s.store.claim(1, "b", MINUTE).await, Ok(false), "and sees what was there");
    drop(holder);
    pool.close().await;
}

/// A commit never waits for the disk: a SQLite file's write-ahead log is copied into the
/// database by the store's own checkpoint, within seconds, not by the commit that fills the log
/// (which happens only past 10,000 pages, far more than these writes make).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_files_log_is_copied_into_the_database_off_the_request_path() {
    let s = Subject::new(Engine::Sqlite).await;
    let file = std::path::PathBuf::from(s.url().trim_start_matches("sqlite://"));
    let size = || std::fs::metadata(&file).expect("the database file").len();
    // What opening wrote is checkpointed first.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let before = size();
    for instance in 0..100 {
        s.store.append_audit(&event(instance, Outcome::Done)).await.unwrap();
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while size() == before {
        assert!(std::time::Instant::now() < deadline, "the log was not checkpointed within 5 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let records = trail(&s.store, AuditQuery { limit: 200, ..AuditQuery::default() }).await;
    assert_eq!(records.len(), 100, "every event is there");
}
