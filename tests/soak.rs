//! The soak (issue 13): over a thousand mixed interactions — lists, searches, page clicks,
//! autocomplete, `/wsc stop` and `/wsc cancel` with their confirms, some confirmed twice at once
//! on both replicas — spread over two `wsc-bot serve` replicas sharing one PostgreSQL, one of
//! them killed (`kill -9`, by pid) half-way. The verdict: nothing duplicated (no job stopped or
//! cancelled twice, no interaction answered twice, no confirm with two outcomes), nothing lost
//! (every interaction answered and finished, every confirm in the audit trail), every action WSC
//! saw in the trail exactly once. The only interactions excused are those in flight on the
//! killed replica: sent to it, and never finished (no HTTP answer, or acknowledged but never
//! edited in).

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::bot::{custom_ids, instance_arg, operator, viewer};
use common::fake_discord::{autocomplete, component_click, slash_command, FakeDiscord, Member};
use common::process::BotProcess;
use common::serve::{post_unjudged, replica_vars, spawn_replica};
use common::{settings, start_sim};
use serde_json::{json, Value};
use wsc_bot::bot::ports::{AuditQuery, AuditRecord, Store};
use wsc_bot::wsc::sim::jobs::generated_seed;
use wsc_bot::wsc::sim::{Fault, Phase};
use wsc_bot::wsc::Operation;

/// Interactions sent in all (at least; a task's last steps may pass it).
const TOTAL: usize = 1_100;
/// Replica A is killed when this many have been sent.
const KILL_AT: usize = TOTAL / 2;
/// Tasks run at once: each a short scenario of one to three interactions, one after another.
const CONCURRENCY: usize = 12;
/// Jobs the simulator holds: a sixth scheduled (cancellable), a third running (stoppable).
const JOBS: usize = 1_200;
const FIRST_JOB: u64 = 2_000_000_000;
/// WSC's stop and cancel take this long, so that some are under way at the kill.
const ACT_LATENCY_MS: u64 = 300;
/// The replicas' WSC timeout: a claim lasts four times that, and an attempt that old with no
/// outcome is settled by the survivor.
const WSC_TIMEOUT_SECS: u64 = 2;
const WAIT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Replica {
    A,
    B,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Command,
    Click,
    Confirm,
    Autocomplete,
}

/// One interaction as sent, and what became of it.
#[derive(Debug, Clone)]
struct Sent {
    id: u64,
    token: String,
    kind: Kind,
    replica: Replica,
    /// The HTTP status (0: no answer, the connection failed) and the answer's callback type.
    status: u16,
    answer_type: Option<u64>,
    /// The request failed after the kill began.
    failed_after_kill: bool,
}

impl Sent {
    /// Whether its answer says an edit of @original is to follow (a deferred answer).
    fn deferred(&self) -> bool {
        matches!(self.answer_type, Some(5 | 6))
    }
}

/// The scenarios, in the order tasks take them.
#[derive(Debug, Clone, Copy)]
enum Task {
    List,
    Search(u64),
    /// A list, then a click on its next-page button.
    Page,
    Autocomplete(u64),
    /// `/wsc stop` or `/wsc cancel` of a job, then one confirm, or two at once (`twice`), one on
    /// each replica while both live.
    Act {
        instance: u64,
        cancel: bool,
        twice: bool,
    },
}

struct Soak {
    discord: FakeDiscord,
    urls: HashMap<Replica, String>,
    /// Replica A until it is killed.
    a: Mutex<Option<BotProcess>>,
    next_id: AtomicU64,
    sent_count: AtomicUsize,
    /// Set before the kill: from then on everything goes to B, as a load balancer would.
    a_dropped: AtomicBool,
    log: Mutex<Vec<Sent>>,
    /// The confirms, by job.
    confirms: Mutex<Vec<(u64, Vec<u64>)>>,
}

impl Soak {
    fn id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::SeqCst)
    }

    fn command(&self, member: &Member, sub: &str, options: Value) -> Value {
        let data = json!({"id": "1", "name": "wsc", "type": 1, "options": [{"name": sub, "type": 1, "options": options}]});
        slash_command(self.id(), member, "en-US", data)
    }

    /// Which replica the load balancer picks: in turn, and only B once A is being killed.
    fn pick(&self, n: usize) -> Replica {
        if self.a_dropped.load(Ordering::SeqCst) || n % 2 == 0 {
            Replica::B
        } else {
            Replica::A
        }
    }

    /// Kills A (SIGKILL, by pid) once, when `KILL_AT` interactions have been sent.
    fn kill_a_if_due(&self, sent: usize) {
        if sent == KILL_AT {
            self.a_dropped.store(true, Ordering::SeqCst);
            let killed = self.a.lock().unwrap().take();
            drop(killed);
        }
    }

    /// Delivers `interaction` signed to `replica` (or the one the balancer picks), and hands a
    /// 200 to the fake Discord as the callback. A failed request to A after the kill began is
    /// left for the verdict to excuse; any other failure is reported to the fake as a breach.
    async fn send(&self, interaction: &Value, kind: Kind, replica: Option<Replica>) -> Sent {
        let n = self.sent_count.fetch_add(1, Ordering::SeqCst) + 1;
        self.kill_a_if_due(n);
        let replica =
            replica.filter(|_| !self.a_dropped.load(Ordering::SeqCst)).unwrap_or_else(|| self.pick(n));
        self.discord.deliver_inline(interaction);
        let (status, answer) = post_unjudged(&self.urls[&replica], interaction).await;
        let id: u64 = interaction["id"].as_str().unwrap().parse().unwrap();
        let token = interaction["token"].as_str().unwrap().to_owned();
        let failed_after_kill = status == 0 && self.a_dropped.load(Ordering::SeqCst);
        if !(failed_after_kill && replica == Replica::A) {
            self.discord.answered_inline(id, &token, status, &answer);
        }
        let sent = Sent {
            id,
            token,
            kind,
            replica,
            status,
            answer_type: answer["type"].as_u64().filter(|_| status == 200),
            failed_after_kill,
        };
        self.log.lock().unwrap().push(sent.clone());
        sent
    }

    /// The @original of a deferred interaction once it is edited in, or the message that was
    /// itself the answer (a fresh list); `None` when it is not within the wait, or at once when
    /// its replica was killed and it was not edited before.
    async fn edited(&self, sent: &Sent) -> Option<Value> {
        if sent.answer_type == Some(4) {
            return self.discord.original(&sent.token);
        }
        if !sent.deferred() {
            return None;
        }
        let path = format!("/{}/messages/@original", sent.token);
        let done = |d: &FakeDiscord| {
            d.count_calls(|c| c.method == "PATCH" && c.path.ends_with(&path) && c.status < 300) > 0
        };
        let on_dead_a = || sent.replica == Replica::A && self.a.lock().unwrap().is_none();
        self.discord.wait_until(|d| done(d) || on_dead_a(), WAIT).await;
        done(&self.discord).then(|| self.discord.original(&sent.token)).flatten()
    }

    async fn run(&self, task: Task) {
        match task {
            Task::List => {
                let sent = self.send(&self.command(&viewer(), "jobs", json!([])), Kind::Command, None).await;
                self.edited(&sent).await;
            }
            Task::Search(i) => {
                let options = json!([{"name": "url", "type": 3, "value": format!("host{i}.")}]);
                let sent = self.send(&self.command(&viewer(), "jobs", options), Kind::Command, None).await;
                self.edited(&sent).await;
            }
            Task::Page => {
                let sent = self.send(&self.command(&viewer(), "jobs", json!([])), Kind::Command, None).await;
                let Some(list) = self.edited(&sent).await else { return };
                let Some(next) = custom_ids(&list).into_iter().find(|c| c.starts_with("wsc:v1:page:2"))
                else {
                    panic!("a list of {JOBS} jobs has a second page: {list:#}")
                };
                let click = component_click(self.id(), &viewer(), "en-US", &next, list);
                let sent = self.send(&click, Kind::Click, None).await;
                self.edited(&sent).await;
            }
            Task::Autocomplete(i) => {
                let option =
                    json!({"name": "instance_id", "type": 3, "value": format!("host{i}"), "focused": true});
                let data = json!({"id": "1", "name": "wsc", "type": 1, "options": [{"name": "stop", "type": 1, "options": [option]}]});
                self.send(&autocomplete(self.id(), &operator(), "en-US", data), Kind::Autocomplete, None)
                    .await;
            }
            Task::Act { instance, cancel, twice } => {
                let verb = if cancel { "cancel" } else { "stop" };
                let ask = self.command(&operator(), verb, instance_arg(instance));
                let sent = self.send(&ask, Kind::Command, None).await;
                let Some(confirmation) = self.edited(&sent).await else { return };
                let confirm_id = format!("wsc:v1:confirm-{verb}:{instance}");
                assert!(custom_ids(&confirmation).contains(&confirm_id), "{confirmation:#}");
                let taps = if twice { vec![Some(Replica::A), Some(Replica::B)] } else { vec![None] };
                let clicks: Vec<Value> = taps
                    .iter()
                    .map(|_| {
                        component_click(self.id(), &operator(), "en-US", &confirm_id, confirmation.clone())
                    })
                    .collect();
                let ids = clicks.iter().map(|c| c["id"].as_str().unwrap().parse().unwrap()).collect();
                self.confirms.lock().unwrap().push((instance, ids));
                futures_util::future::join_all(
                    clicks.iter().zip(taps).map(|(click, replica)| self.send(click, Kind::Confirm, replica)),
                )
                .await;
            }
        }
    }
}

/// The scenarios: a fixed mix, each stop or cancel on a job of its own in the state it needs.
fn tasks() -> Vec<Task> {
    // generated_seed cycles scheduled, crawling, scanning, finished, stopped, cancelled.
    let mut cancellable = (0..JOBS as u64).filter(|i| i % 6 == 0).map(|i| FIRST_JOB + i);
    let mut stoppable = (0..JOBS as u64).filter(|i| i % 6 == 1 || i % 6 == 2).map(|i| FIRST_JOB + i);
    (0..TOTAL as u64)
        .map(|i| match i % 10 {
            0 | 6 => Task::List,
            1 | 8 => Task::Search(i % JOBS as u64),
            2 => Task::Page,
            3 | 4 => Task::Autocomplete(i % JOBS as u64),
            5 => Task::Act { instance: stoppable.next().unwrap(), cancel: false, twice: false },
            7 => Task::Act { instance: cancellable.next().unwrap(), cancel: true, twice: i % 20 == 17 },
            _ => Task::Act { instance: stoppable.next().unwrap(), cancel: false, twice: true },
        })
        .collect()
}

/// The audit trail as the store holds it, oldest first.
async fn trail(store: &dyn Store) -> Vec<AuditRecord> {
    let query = AuditQuery { since_ms: 0, instance: None, actor: None, limit: 1_000_000, offset: 0 };
    let mut trail = store.audit_trail(&query).await.expect("the trail is read");
    trail.reverse();
    trail
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_mixed_interactions_over_two_replicas_one_killed_half_way_lose_and_duplicate_nothing() {
    let started = Instant::now();
    let mut settings = settings();
    settings.seed.extend(generated_seed(JOBS, FIRST_JOB));
    settings.request_log_limit = 1_000_000;
    let latency = Fault { latency_ms: ACT_LATENCY_MS, ..Fault::default() };
    settings.faults = vec![(Operation::Stop, latency.clone()), (Operation::Cancel, latency)];
    let sim = start_sim(settings).await;
    let discord = FakeDiscord::start().await;
    let database = common::postgres::database().await;
    let mut vars = replica_vars(&discord, &sim, &database);
    vars.insert("WSC_REQUEST_TIMEOUT_SECS", WSC_TIMEOUT_SECS.to_string());
    let (a, url_a) = spawn_replica(&vars);
    let (b, url_b) = spawn_replica(&vars);
    let soak = Arc::new(Soak {
        discord: discord.clone(),
        urls: HashMap::from([(Replica::A, url_a), (Replica::B, url_b)]),
        a: Mutex::new(Some(a)),
        next_id: AtomicU64::new(1),
        sent_count: AtomicUsize::new(0),
        a_dropped: AtomicBool::new(false),
        log: Mutex::new(Vec::new()),
        confirms: Mutex::new(Vec::new()),
    });

    let tasks = Arc::new(tasks());
    let next = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let (soak, tasks, next) = (soak.clone(), tasks.clone(), next.clone());
            tokio::spawn(async move {
                loop {
                    if soak.sent_count.load(Ordering::SeqCst) >= TOTAL {
                        break;
                    }
                    let Some(task) = tasks.get(next.fetch_add(1, Ordering::SeqCst)) else { break };
                    soak.run(*task).await;
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.expect("no scenario failed");
    }
    let sent_for = started.elapsed();
    assert!(soak.a.lock().unwrap().is_none(), "replica A was killed half-way");

    // B writes a confirm's outcome once it has told Discord, and settles what A was doing when
    // it died: wait for every confirm of B's to have its outcome, and every attempt too.
    let log = soak.log.lock().unwrap().clone();
    let b_confirms: Vec<u64> =
        log.iter().filter(|s| s.kind == Kind::Confirm && s.replica == Replica::B).map(|s| s.id).collect();
    let store = wsc_bot::store::open(&database).await.expect("the store opens");
    let settled_within = Duration::from_secs(4 * WSC_TIMEOUT_SECS) * 3;
    let settling = Instant::now();
    let trail = loop {
        let trail = trail(&store).await;
        let outcomes: HashSet<&str> =
            trail.iter().filter(|e| e.outcome != "attempted").map(|e| e.correlation.as_str()).collect();
        let unsettled =
            trail.iter().filter(|e| e.outcome == "attempted" && !outcomes.contains(e.correlation.as_str()));
        let ended: HashSet<u64> =
            trail.iter().filter(|e| e.outcome != "attempted").map(|e| e.interaction).collect();
        let b_done = b_confirms.iter().all(|id| ended.contains(id));
        if (unsettled.count() == 0 && b_done) || settling.elapsed() > settled_within {
            break trail;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };

    // In the trail: one outcome per correlation, after one attempt at most, and one outcome
    // per interaction.
    let mut by_correlation: HashMap<&str, Vec<&AuditRecord>> = HashMap::new();
    for event in &trail {
        by_correlation.entry(&event.correlation).or_default().push(event);
    }
    for (correlation, events) in &by_correlation {
        let attempts = events.iter().filter(|e| e.outcome == "attempted").count();
        let outcomes = events.len() - attempts;
        assert!(
            attempts <= 1 && outcomes == 1,
            "one outcome, after one attempt at most: {correlation}: {events:#?}"
        );
    }
    let mut outcome_of: HashMap<u64, &AuditRecord> = HashMap::new();
    for event in trail.iter().filter(|e| e.outcome != "attempted") {
        let earlier = outcome_of.insert(event.interaction, event);
        assert!(earlier.is_none(), "one outcome per interaction: {earlier:#?} and {event:#?}");
    }

    // An interaction is finished when it is answered and, if its answer was deferred, edited
    // in; a confirm, when its outcome is in the trail. What was in flight on A when it died is
    // excused: sent to it, and not finished. Nothing else.
    assert!(log.len() >= TOTAL, "{} interactions sent", log.len());
    let edited = |s: &Sent| {
        let path = format!("/{}/messages/@original", s.token);
        discord.count_calls(|c| c.method == "PATCH" && c.path.ends_with(&path) && c.status < 300) > 0
    };
    let finished = |s: &Sent| {
        s.status == 200
            && match s.kind {
                Kind::Confirm => outcome_of.contains_key(&s.id),
                _ => !s.deferred() || edited(s),
            }
    };
    let excused: HashSet<u64> = log
        .iter()
        .filter(|s| s.replica == Replica::A && !finished(s) && (s.status == 200 || s.failed_after_kill))
        .map(|s| s.id)
        .collect();
    for id in &excused {
        discord.excuse(*id);
    }
    let lost: Vec<&Sent> = log.iter().filter(|s| !excused.contains(&s.id) && !finished(s)).collect();
    assert!(lost.is_empty(), "lost: {lost:#?}");
    assert!(excused.len() <= 2 * CONCURRENCY, "no more than were in flight on A: {}", excused.len());
    let confirms = log.iter().filter(|s| s.kind == Kind::Confirm).count();
    let on_a: HashSet<u64> = log.iter().filter(|s| s.replica == Replica::A).map(|s| s.id).collect();

    // WSC: no job asked twice to stop or cancel, and every attempt in the trail is one WSC saw,
    // with one outcome: done when WSC acted, or, for one A was making when it died (settled by
    // B), unconfirmed when WSC acted and abandoned when it did not (the request left A, or not,
    // but A's connection died with it before WSC acted).
    let asked: Vec<u64> = sim
        .requests()
        .into_iter()
        .filter(|r| matches!(r.operation, Some(Operation::Stop | Operation::Cancel)))
        .map(|r| r.instance_no.expect("an action names its job"))
        .collect();
    let jobs: HashSet<u64> = asked.iter().copied().collect();
    assert_eq!(jobs.len(), asked.len(), "no job asked twice: {asked:?}");
    let acted_on = |job: u64| {
        sim.phase(job).is_some_and(|p| matches!(p, Phase::Stopping | Phase::Stopped | Phase::Cancelled))
    };
    let acted: HashSet<u64> = jobs.iter().copied().filter(|job| acted_on(*job)).collect();
    let attempts: Vec<&AuditRecord> = trail.iter().filter(|e| e.outcome == "attempted").collect();
    let attempted: HashSet<u64> = attempts.iter().map(|e| e.instance).collect();
    assert_eq!(attempted.len(), attempts.len(), "one attempt per job: {attempts:#?}");
    assert!(
        acted.is_subset(&attempted),
        "every action WSC took is in the trail: {:?}",
        acted.difference(&attempted)
    );
    for attempt in &attempts {
        let outcome = &by_correlation[attempt.correlation.as_str()]
            .iter()
            .find(|e| e.outcome != "attempted")
            .unwrap()
            .outcome;
        let (cut_short, acted) = (on_a.contains(&attempt.interaction), acted.contains(&attempt.instance));
        let expected = match (acted, cut_short) {
            (true, false) => outcome == "done",
            (true, true) => outcome == "done" || outcome == "unconfirmed",
            (false, true) => outcome == "abandoned",
            (false, false) => false,
        };
        assert!(
            expected,
            "job {}: {outcome} (WSC acted: {acted}; A's, cut short: {cut_short})",
            attempt.instance
        );
    }
    // Each job confirmed (once or twice) was acted on, unless the kill cut A's confirm short
    // (in flight, or settled as abandoned): then a second confirm, if any, was told the first
    // was under way.
    for (job, ids) in soak.confirms.lock().unwrap().iter() {
        let abandoned = |id: &u64| outcome_of.get(id).is_some_and(|e| e.outcome == "abandoned");
        let cut = ids.iter().any(|id| excused.contains(id) || (on_a.contains(id) && abandoned(id)));
        let told_under_way = ids
            .iter()
            .filter(|id| !excused.contains(id) && !abandoned(id))
            .all(|id| outcome_of.get(id).is_some_and(|e| e.outcome == "already_in_progress"));
        assert!(
            acted.contains(job) || (cut && told_under_way),
            "job {job}, confirmed by {ids:?}, was not acted on: {:#?}",
            ids.iter().map(|id| outcome_of.get(id)).collect::<Vec<_>>()
        );
    }

    let (a_count, b_count) =
        log.iter().fold((0, 0), |(a, b), s| if s.replica == Replica::A { (a + 1, b) } else { (a, b + 1) });
    eprintln!(
        "soak: {} interactions ({a_count} to A, {b_count} to B), {} confirms, {} WSC actions, {} excused (in flight on A \
         at the kill), sent in {:.1} s, {:.1} s in all",
        log.len(),
        confirms,
        acted.len(),
        excused.len(),
        sent_for.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    drop(b);
    discord.assert_clean().await;
    assert_eq!(common::panics(), 0);
}
