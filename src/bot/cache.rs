//! Short-lived caches of jobs. For autocomplete: one refresh in flight at a time, and callers
//! never wait long for it (Discord gives autocomplete 3 seconds and no deferral). For `/wsc jobs`:
//! the newest first page listed, so the list can be shown at once while it is fresh.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::wsc::{Job, JobPage, SearchField, SearchQuery, WscClient};

/// How long a fetched list is served before a refresh starts.
const TTL: Duration = Duration::from_secs(30);
/// The newest jobs fetched, in pages of 100.
const LIST_PAGES: u32 = 10;
/// Running and not-started jobs are also searched by status, so they are offered even when
/// they are older than the newest pages.
const ACTIVE_STATUS_CODES: [u16; 5] = [12, 13, 14, 2, 3];

#[derive(Default)]
struct State {
    jobs: Arc<Vec<Job>>,
    fetched: Option<Instant>,
    refreshing: bool,
}

pub struct JobCache {
    wsc: WscClient,
    state: Arc<Mutex<State>>,
    /// Bumped after every refresh, so a caller can wait for the first fill.
    generation: watch::Sender<u64>,
    /// The newest unfiltered first page of `/wsc jobs`, and when WSC gave it.
    first_page: Mutex<Option<(Instant, JobPage)>>,
}

impl JobCache {
    pub fn new(wsc: WscClient) -> Self {
        Self { wsc, state: Arc::default(), generation: watch::channel(0).0, first_page: Mutex::default() }
    }

    /// Keeps the unfiltered first page WSC just gave.
    pub fn remember_first_page(&self, page: &JobPage) {
        *lock(&self.first_page) = Some((Instant::now(), page.clone()));
    }

    /// The unfiltered first page and its age, when it is at most `max_age` old.
    pub fn first_page(&self, max_age: Duration) -> Option<(Duration, JobPage)> {
        let first_page = lock(&self.first_page);
        let (at, page) = first_page.as_ref()?;
        let age = at.elapsed();
        (age <= max_age).then(|| (age, page.clone()))
    }

    /// The cached jobs, newest first. Starts a refresh when stale; waits at most `wait`, and
    /// only while nothing was ever fetched.
    pub async fn jobs(&self, wait: Duration) -> Arc<Vec<Job>> {
        let mut fresh = self.generation.subscribe();
        let (jobs, empty) = {
            let mut state = lock(&self.state);
            let stale = state.fetched.is_none_or(|at| at.elapsed() >= TTL);
            if stale && !state.refreshing {
                state.refreshing = true;
                self.spawn_refresh();
            }
            (state.jobs.clone(), state.fetched.is_none())
        };
        if !empty {
            return jobs;
        }
        let _ = tokio::time::timeout(wait, fresh.changed()).await;
        lock(&self.state).jobs.clone()
    }

    /// After an action the cached states are wrong: the next call refreshes, and the next list
    /// asks WSC.
    pub fn invalidate(&self) {
        if let Some(at) = lock(&self.state).fetched.as_mut() {
            *at -= TTL;
        }
        *lock(&self.first_page) = None;
    }

    fn spawn_refresh(&self) {
        let (wsc, state, generation) = (self.wsc.clone(), self.state.clone(), self.generation.clone());
        tokio::spawn(async move {
            let fetched = fetch(&wsc).await;
            let mut state = lock(&state);
            match fetched {
                Ok(jobs) => state.jobs = Arc::new(jobs),
                Err(error) => {
                    tracing::warn!(%error, "could not refresh the autocomplete cache; serving the old one")
                }
            }
            // Also after a failure, so a down WSC is asked again only after the TTL.
            state.fetched = Some(Instant::now());
            state.refreshing = false;
            generation.send_modify(|g| *g += 1);
        });
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

async fn fetch(wsc: &WscClient) -> Result<Vec<Job>, crate::wsc::WscError> {
    let mut jobs = BTreeMap::new();
    for code in ACTIVE_STATUS_CODES {
        let query = SearchQuery {
            field: SearchField::Any,
            keyword: String::new(),
            status_code: Some(code),
            page: 1,
            limit: 100,
        };
        jobs.extend(wsc.search_jobs(&query).await?.jobs.into_iter().map(|j| (j.instance_no, j)));
    }
    for page in 1..=LIST_PAGES {
        let listed = wsc.list_jobs(page, 100).await?;
        let last = listed.total_pages;
        jobs.extend(listed.jobs.into_iter().map(|j| (j.instance_no, j)));
        if u64::from(page) >= last {
            break;
        }
    }
    Ok(jobs.into_values().rev().collect())
}
