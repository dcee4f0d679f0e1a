//! The store in a database, through sqlx's `Any` driver: SQLite for one process (a file, or
//! memory for `--demo`), PostgreSQL for replicas. One set of portable SQL, one set of
//! migrations (`migrations/`), embedded and run at open.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::{Migrate, MigrateError, Migration, MigrationSource, MigrationType, Migrator};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Row};
use tokio::sync::{MappedMutexGuard, Mutex, MutexGuard};

use crate::bot::audit::AuditEvent;
use crate::bot::ports::{now_ms, AuditQuery, AuditRecord, Store, StoreError, StoreStatus, WatchedJob};
use crate::bot::watch::Stage;

/// The migrations, newest last: (version, description, SQL).
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "state", include_str!("../../migrations/0001_state.sql")),
    (2, "pending", include_str!("../../migrations/0002_pending.sql")),
];

/// A pooled connection idle this long is pinged before use; one used more recently is not,
/// unless a call failed within `SUSPECT_FOR`.
const PING_IF_IDLE_FOR: Duration = Duration::from_secs(1);
const SUSPECT_FOR: Duration = Duration::from_secs(30);

/// Watched jobs saved per statement: four parameters each, well within every engine's limit
/// (SQLite's is 32,766).
const ROWS_PER_UPSERT: usize = 500;

/// An interaction token lives 15 minutes; no later delivery of it can do anything.
const SEEN_FOR_MS: i64 = 15 * 60 * 1000;

/// In write-ahead-log mode, the commit that takes the log past SQLite's threshold copies it into
/// the database, with an fsync, before it returns: a confirmed stop would wait for the disk. A
/// checkpoint this often, off the request path, does it instead.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// SQLite's own checkpoint, by a commit, when the log holds this many pages (4 KiB each): only a
/// burst the checkpoint above cannot keep up with reaches it. At SQLite's default of 1,000, a
/// confirmed stop (about 20 pages) paid a checkpoint one time in 50.
const CHECKPOINT_BY_A_COMMIT_AT_PAGES: u32 = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

pub struct SqlStore {
    pool: AnyPool,
    engine: Engine,
    /// A SQLite file's one connection for writes, held for the life of the store (see `writing`).
    writer: Option<Mutex<Option<PoolConnection<Any>>>>,
    /// Connections are pinged before use until then (milliseconds since the Unix epoch).
    suspect_until: Arc<AtomicI64>,
    /// A SQLite file's checkpoints, for as long as the store lives.
    _checkpoints: Option<Checkpoints>,
}

/// The task that checkpoints a SQLite file's log; it ends with the store.
struct Checkpoints(tokio::task::AbortHandle);

impl Checkpoints {
    fn start(pool: AnyPool) -> Self {
        let task = tokio::spawn(async move {
            let mut every = tokio::time::interval(CHECKPOINT_EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                // PASSIVE waits for no reader or writer; what it cannot copy now waits a second.
                if let Err(error) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&pool).await {
                    tracing::debug!(%error, "the SQLite checkpoint failed; the next one tries again");
                }
            }
        });
        Self(task.abort_handle())
    }
}

impl Drop for Checkpoints {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Why the store could not be opened, in a sentence for the person starting the bot.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("WSC_DATABASE_URL must start with sqlite:// or postgres:// (it starts with `{0}`)")]
    Scheme(String),
    #[error("could not open the database ({0}): check WSC_DATABASE_URL, and that the database runs and this user may write there")]
    Connect(String),
    #[error(
        "the database was written by a newer wsc-bot (its schema has version {found}; this binary knows up \
         to {known}): run that newer version, or a copy of the database from before it"
    )]
    Newer { found: i64, known: i64 },
    #[error("could not bring the database's schema up to date: {0}")]
    Migrate(String),
}

#[derive(Debug)]
struct Embedded;

impl MigrationSource<'static> for Embedded {
    fn resolve(self) -> BoxFuture<'static, Result<Vec<Migration>, sqlx::error::BoxDynError>> {
        Box::pin(async {
            Ok(MIGRATIONS
                .iter()
                .map(|(version, description, sql)| {
                    Migration::new(
                        *version,
                        Cow::Borrowed(*description),
                        MigrationType::Simple,
                        Cow::Borrowed(*sql),
                        false,
                    )
                })
                .collect())
        })
    }
}

fn newest_known() -> i64 {
    MIGRATIONS.last().map_or(0, |(version, _, _)| *version)
}

/// Opens the store at `url` (`sqlite://PATH`, `sqlite::memory:`, `postgres://…`), creating a
/// SQLite file when there is none, and brings its schema up to date. A schema newer than this
/// binary knows is refused, and nothing is written to it.
pub async fn open(url: &str) -> Result<SqlStore, OpenError> {
    sqlx::any::install_default_drivers();
    let scheme = url.split(':').next().unwrap_or_default();
    let (engine, url, pool) = match scheme {
        "sqlite" => {
            let memory = in_memory(url);
            let url = if memory || url.contains('?') { url.to_owned() } else { format!("{url}?mode=rwc") };
            // Each connection to an in-memory database is a database of its own: keep one, for ever.
            let pool = if memory {
                AnyPoolOptions::new()
                    .max_connections(1)
                    .min_connections(1)
                    .idle_timeout(None)
                    .max_lifetime(None)
            } else {
                // In write-ahead-log mode, NORMAL syncs the log at checkpoints, not at every
                // commit: a commit survives the process's death (`kill -9`), and one call costs
                // tens of microseconds instead of an fsync. Set per connection.
                AnyPoolOptions::new().max_connections(4).after_connect(|conn, _| {
                    Box::pin(async move {
                        sqlx::Executor::execute(&mut *conn, "PRAGMA synchronous = NORMAL").await?;
                        let pages = format!("PRAGMA wal_autocheckpoint = {CHECKPOINT_BY_A_COMMIT_AT_PAGES}");
                        sqlx::Executor::execute(conn, pages.as_str()).await.map(drop)
                    })
                })
            };
            (Engine::Sqlite, url, pool)
        }
        "postgres" | "postgresql" => {
            (Engine::Postgres, url.to_owned(), AnyPoolOptions::new().max_connections(8))
        }
        other => return Err(OpenError::Scheme(other.chars().take(20).collect())),
    };
    let suspect_until = Arc::new(AtomicI64::new(0));
    let pinging_until = suspect_until.clone();
    let pool = pool
        .acquire_timeout(Duration::from_secs(5))
        // sqlx pings every connection it hands out, a round trip more per call. A connection
        // used within the last second, with no call failed lately, is alive: only others are.
        .test_before_acquire(false)
        .before_acquire(move |conn, meta| {
            let suspect = now_ms() < pinging_until.load(Ordering::Relaxed);
            Box::pin(async move {
                if meta.idle_for < PING_IF_IDLE_FOR && !suspect {
                    return Ok(true);
                }
                sqlx::Connection::ping(conn).await.map(|()| true)
            })
        })
        .connect(&url)
        .await
        .map_err(|e| OpenError::Connect(e.to_string()))?;
    if engine == Engine::Sqlite {
        write_ahead_log(&pool).await.map_err(|e| OpenError::Connect(e.to_string()))?;
    }
    let migrator = Migrator::new(Embedded).await.map_err(|e| OpenError::Migrate(e.to_string()))?;
    let mut migrated = migrator.run(&pool).await;
    // SQLite gives the migrator no lock: of two processes opening a new file at once, both apply
    // a migration and the later fails on the tables the other made. When the other did apply
    // it, run again: it goes on after it.
    while let Err(MigrateError::ExecuteMigration(_, version)) = &migrated {
        if engine != Engine::Sqlite || !applied(&pool, *version).await {
            break;
        }
        migrated = migrator.run(&pool).await;
    }
    match migrated {
        Ok(()) => {
            let file = engine == Engine::Sqlite && !in_memory(&url);
            let _checkpoints = file.then(|| Checkpoints::start(pool.clone()));
            let writer = file.then(|| Mutex::new(None));
            Ok(SqlStore { pool, engine, writer, suspect_until, _checkpoints })
        }
        Err(MigrateError::VersionMissing(found)) => Err(OpenError::Newer { found, known: newest_known() }),
        Err(error) => Err(OpenError::Migrate(error.to_string())),
    }
}

/// Whether a SQLite URL names a database in memory (which has no log to checkpoint).
fn in_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

/// Puts a SQLite database in write-ahead-log mode, where readers do not wait for the writer; the
/// setting stays with the file. Switching needs the file alone, and SQLite does not wait for that
/// as it waits for other locks: a process opening a new file while another does gets "database
/// is locked" at once. Tried again for as long as SQLite waits for any other lock.
async fn write_ahead_log(pool: &AnyPool) -> Result<(), sqlx::Error> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        match sqlx::query("PRAGMA journal_mode = WAL").execute(pool).await {
            Err(error) if locked(&error) && tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            done => return done.map(drop),
        }
    }
}

/// SQLite's SQLITE_BUSY (5) or SQLITE_LOCKED (6), or one of their extended codes.
fn locked(error: &sqlx::Error) -> bool {
    let code = error.as_database_error().and_then(|e| e.code()).and_then(|c| c.parse::<i32>().ok());
    code.is_some_and(|code| matches!(code & 0xff, 5 | 6))
}

/// Whether migration `version` is recorded as applied.
async fn applied(pool: &AnyPool, version: i64) -> bool {
    sqlx::query("SELECT COUNT(*) FROM _sqlx_migrations WHERE version = $1 AND success")
        .bind(version)
        .fetch_one(pool)
        .await
        .is_ok_and(|row| row.try_get::<i64, _>(0).is_ok_and(|n| n > 0))
}

impl SqlStore {
    /// A failed call: until `SUSPECT_FOR` has passed, every connection is pinged before use, so
    /// the ones a database restart cut are replaced, not tried.
    fn failed(&self, error: sqlx::Error) -> StoreError {
        self.suspect_until.store(now_ms().saturating_add(ms(SUSPECT_FOR)), Ordering::Relaxed);
        StoreError(error.to_string())
    }

    fn suspect(&self) -> bool {
        now_ms() < self.suspect_until.load(Ordering::Relaxed)
    }

    /// A connection to write with. SQLite lets one connection write at a time however many are
    /// open, and sqlx's pool pings each connection it takes back, one more round trip to
    /// SQLite's thread per call: it doubled what a call cost. So a SQLite file's writes share one
    /// connection, kept out of the pool; while calls have failed lately (`failed`), each write
    /// hands it back and takes one from the pool, which checks it. PostgreSQL's writes run side
    /// by side, from the pool.
    async fn writing(&self) -> Result<Connection<'_>, StoreError> {
        let Some(writer) = &self.writer else {
            return self.pool.acquire().await.map(Connection::Pooled).map_err(|e| self.failed(e));
        };
        let mut held = writer.lock().await;
        // A suspect connection goes back to the pool before another is taken.
        let kept = held.take().filter(|_| !self.suspect());
        let conn = match kept {
            Some(conn) => conn,
            None => self.pool.acquire().await.map_err(|e| self.failed(e))?,
        };
        Ok(Connection::Held(MutexGuard::map(held, |held| held.insert(conn))))
    }
}

/// Saves the watcher's changed jobs in `channel` in one transaction on `conn`, taking the
/// channel's baseline if it has none.
async fn save_watched_on(
    conn: &mut AnyConnection,
    channel: i64,
    latest: &[(u64, WatchedJob)],
) -> Result<(), sqlx::Error> {
    let mut tx = sqlx::Connection::begin(conn).await?;
    sqlx::query(
        "INSERT INTO watch_baselines (channel, taken_at) VALUES ($1, $2) ON CONFLICT (channel) DO NOTHING",
    )
    .bind(channel)
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    // Many rows a statement, not one round trip a job.
    for rows in latest.chunks(ROWS_PER_UPSERT) {
        let values: Vec<String> = (0..rows.len())
            .map(|row| format!("(${}, ${}, ${}, ${})", 4 * row + 1, 4 * row + 2, 4 * row + 3, 4 * row + 4))
            .collect();
        let sql = format!(
            "INSERT INTO watch_jobs (channel, instance, stage, message_id) VALUES {} \
             ON CONFLICT (channel, instance) DO UPDATE SET stage = excluded.stage, message_id = excluded.message_id",
            values.join(", ")
        );
        let query = rows.iter().fold(sqlx::query(&sql), |query, (instance, job)| {
            query.bind(channel).bind(id(*instance)).bind(job.stage.name()).bind(job.message_id.map(id))
        });
        query.execute(&mut *tx).await?;
    }
    tx.commit().await
}

/// A connection for one call: a SQLite file's writer, or one of the pool's.
enum Connection<'a> {
    Held(MappedMutexGuard<'a, PoolConnection<Any>>),
    Pooled(PoolConnection<Any>),
}

impl std::ops::Deref for Connection<'_> {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        match self {
            Self::Held(conn) => conn,
            Self::Pooled(conn) => conn,
        }
    }
}

impl std::ops::DerefMut for Connection<'_> {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match self {
            Self::Held(conn) => conn,
            Self::Pooled(conn) => conn,
        }
    }
}

/// A 64-bit id as the database keeps it: the same 64 bits, read back with `as u64`. WSC's
/// 19-digit job numbers can pass `i64::MAX`, and such a job is claimed and audited like any.
fn id(value: u64) -> i64 {
    value as i64
}

fn ms(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// `value` as the database can keep it: PostgreSQL's text cannot hold a NUL (SQLite's can), and
/// an audit event carrying one (in a target URL from WSC, say) would be refused whole. Both
/// engines keep U+FFFD in its place.
fn kept_text(value: String) -> String {
    if value.contains('\0') {
        value.replace('\0', "\u{FFFD}")
    } else {
        value
    }
}

/// An audit event's id, written at `at_ms`: unique without an engine's sequence, and in the
/// order this process wrote its events (the trail's order within one millisecond).
fn event_id(at_ms: i64) -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let seq = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{at_ms:015}-{seq:012}-{:08x}", fastrand::u32(..))
}

fn audit_record(row: &AnyRow) -> Result<AuditRecord, sqlx::Error> {
    let unsigned = |name: &str| row.try_get::<i64, _>(name).map(|v| v as u64);
    Ok(AuditRecord {
        at_ms: row.try_get("at_ms")?,
        correlation: row.try_get("correlation")?,
        interaction: unsigned("interaction")?,
        actor_id: unsigned("actor_id")?,
        actor_name: row.try_get("actor_name")?,
        matched_role: row.try_get::<Option<i64>, _>("matched_role")?.map(|v| v as u64),
        action: row.try_get("action")?,
        instance: unsigned("instance")?,
        target_url: row.try_get("target_url")?,
        outcome: row.try_get("outcome")?,
        wsc_code: row.try_get("wsc_code")?,
        request_id: row.try_get("request_id")?,
        latency_ms: unsigned("latency_ms")?,
        reason: row.try_get("reason")?,
    })
}

/// The key of a claim (a job number) or of a lease (a name).
enum Key {
    Id(i64),
    Name(String),
}

impl SqlStore {
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// Takes `key` in `table` (claims or leases) for `holder` unless another holder's time has
    /// not run out; `renew` lets the holder extend its own.
    async fn take(
        &self,
        table: &str,
        key: Key,
        holder: &str,
        ttl: Duration,
        renew: bool,
    ) -> Result<bool, StoreError> {
        let now = now_ms();
        let holder_may_renew =
            if renew { format!(" OR {table}.holder = excluded.holder") } else { String::new() };
        let key_column = match key {
            Key::Id(_) => "instance",
            Key::Name(_) => "name",
        };
        let sql = format!(
            "INSERT INTO {table} ({key_column}, holder, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT ({key_column}) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
             WHERE {table}.expires_at <= $4{holder_may_renew}"
        );
        let query = sqlx::query(&sql);
        let query = match key {
            Key::Id(value) => query.bind(value),
            Key::Name(value) => query.bind(value),
        };
        let mut conn = self.writing().await?;
        let done = query
            .bind(holder.to_owned())
            .bind(now.saturating_add(ms(ttl)))
            .bind(now)
            .execute(&mut *conn)
            .await
            .map_err(|e| self.failed(e))?;
        Ok(done.rows_affected() == 1)
    }
}

#[async_trait::async_trait]
impl Store for SqlStore {
    async fn claim(&self, instance: u64, holder: &str, ttl: Duration) -> Result<bool, StoreError> {
        self.take("claims", Key::Id(id(instance)), holder, ttl, false).await
    }

    async fn release(&self, instance: u64, holder: &str) -> Result<(), StoreError> {
        let mut conn = self.writing().await?;
        sqlx::query("DELETE FROM claims WHERE instance = $1 AND holder = $2")
            .bind(id(instance))
            .bind(holder.to_owned())
            .execute(&mut *conn)
            .await
            .map_err(|e| self.failed(e))?;
        Ok(())
    }

    async fn first_delivery(&self, interaction: u64) -> Result<bool, StoreError> {
        let now = now_ms();
        let mut conn = self.writing().await?;
        let done = sqlx::query(
            "INSERT INTO seen_interactions (id, seen_at) VALUES ($1, $2) \
             ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at WHERE seen_interactions.seen_at <= $3",
        )
        .bind(id(interaction))
        .bind(now)
        .bind(now - SEEN_FOR_MS)
        .execute(&mut *conn)
        .await
        .map_err(|e| self.failed(e))?;
        Ok(done.rows_affected() == 1)
    }

    async fn watched(&self, channel: u64) -> Result<Option<HashMap<u64, WatchedJob>>, StoreError> {
        let channel = id(channel);
        let baseline = sqlx::query("SELECT taken_at FROM watch_baselines WHERE channel = $1")
            .bind(channel)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.failed(e))?;
        if baseline.is_none() {
            return Ok(None);
        }
        let rows = sqlx::query("SELECT instance, stage, message_id FROM watch_jobs WHERE channel = $1")
            .bind(channel)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.failed(e))?;
        let mut jobs = HashMap::with_capacity(rows.len());
        for row in rows {
            let instance: i64 = row.try_get("instance").map_err(|e| self.failed(e))?;
            let stage: String = row.try_get("stage").map_err(|e| self.failed(e))?;
            let message_id: Option<i64> = row.try_get("message_id").map_err(|e| self.failed(e))?;
            // A stage this binary does not know (written by a newer one) reads as nothing to tell.
            let stage = Stage::from_name(&stage).unwrap_or(Stage::Other);
            jobs.insert(instance as u64, WatchedJob { stage, message_id: message_id.map(|m| m as u64) });
        }
        Ok(Some(jobs))
    }

    async fn save_watched(&self, channel: u64, changed: &[(u64, WatchedJob)]) -> Result<(), StoreError> {
        // A job listed twice (WSC's pages can shift under a poll) is saved as last seen: one
        // statement may not upsert a row twice.
        let mut seen = std::collections::HashSet::new();
        let mut latest: Vec<(u64, WatchedJob)> =
            changed.iter().rev().filter(|(instance, _)| seen.insert(*instance)).copied().collect();
        latest.reverse();
        let saved = match self.writing().await? {
            Connection::Held(mut conn) => save_watched_on(&mut conn, id(channel), &latest).await,
            // sqlx (0.8.6, and 0.9.0) cannot roll back a PostgreSQL transaction whose BEGIN was
            // dropped before its answer: the session stays inside it, and every later call on
            // that connection with it, never committed and holding its locks. The guard's time
            // limit drops calls, so this transaction runs in a task of its own, which nothing
            // drops. (SQLite's connection thread rolls such a BEGIN back itself.)
            Connection::Pooled(mut conn) => {
                tokio::spawn(async move { save_watched_on(&mut conn, id(channel), &latest).await })
                    .await
                    .unwrap_or_else(|error| {
                        Err(sqlx::Error::Protocol(format!("the save's task ended: {error}")))
                    })
            }
        };
        saved.map_err(|e| self.failed(e))
    }

    async fn append_audit(&self, event: &AuditEvent) -> Result<(), StoreError> {
        let record = event.record();
        let mut conn = self.writing().await?;
        sqlx::query(
            "INSERT INTO audit_events (id, at_ms, correlation, interaction, actor_id, actor_name, matched_role, \
             action, instance, target_url, outcome, wsc_code, request_id, latency_ms, reason) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        )
        .bind(event_id(record.at_ms))
        .bind(record.at_ms)
        .bind(kept_text(record.correlation))
        .bind(id(record.interaction))
        .bind(id(record.actor_id))
        .bind(kept_text(record.actor_name))
        .bind(record.matched_role.map(id))
        .bind(record.action)
        .bind(id(record.instance))
        .bind(record.target_url.map(kept_text))
        .bind(record.outcome)
        .bind(record.wsc_code.map(kept_text))
        .bind(record.request_id.map(kept_text))
        .bind(i64::try_from(record.latency_ms).unwrap_or(i64::MAX))
        .bind(record.reason.map(kept_text))
        .execute(&mut *conn)
        .await
        .map_err(|e| self.failed(e))?;
        Ok(())
    }

    async fn audit_trail(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
        // Only numbers are bound, each as `$n` in the order pushed.
        let mut sql = "SELECT * FROM audit_events WHERE at_ms >= $1".to_owned();
        let mut values = vec![query.since_ms];
        for (column, value) in [("instance", query.instance), ("actor_id", query.actor)] {
            if let Some(value) = value {
                values.push(id(value));
                sql.push_str(&format!(" AND {column} = ${}", values.len()));
            }
        }
        values.extend([i64::from(query.limit), i64::from(query.offset)]);
        let n = values.len();
        sql.push_str(&format!(" ORDER BY at_ms DESC, id DESC LIMIT ${} OFFSET ${n}", n - 1));
        let rows = values
            .into_iter()
            .fold(sqlx::query(&sql), |q, value| q.bind(value))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.failed(e))?;
        rows.iter().map(audit_record).collect::<Result<_, _>>().map_err(|e| self.failed(e))
    }

    async fn unsettled_attempts(&self, before_ms: i64) -> Result<Vec<AuditRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM audit_events a WHERE a.outcome = 'attempted' AND a.at_ms < $1 AND NOT EXISTS \
             (SELECT 1 FROM audit_events b WHERE b.correlation = a.correlation AND b.outcome <> 'attempted') \
             ORDER BY a.at_ms",
        )
        .bind(before_ms)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.failed(e))?;
        rows.iter().map(audit_record).collect::<Result<_, _>>().map_err(|e| self.failed(e))
    }

    async fn lease(&self, name: &str, holder: &str, ttl: Duration) -> Result<bool, StoreError> {
        self.take("leases", Key::Name(name.to_owned()), holder, ttl, true).await
    }

    async fn housekeep(&self, audit_retention: Duration) -> Result<(), StoreError> {
        let now = now_ms();
        let statements = [
            ("DELETE FROM claims WHERE expires_at <= $1", now),
            ("DELETE FROM leases WHERE expires_at <= $1", now),
            ("DELETE FROM pending_requests WHERE expires_at <= $1", now),
            ("DELETE FROM seen_interactions WHERE seen_at <= $1", now - SEEN_FOR_MS),
            ("DELETE FROM audit_events WHERE at_ms < $1", now.saturating_sub(ms(audit_retention))),
        ];
        let mut conn = self.writing().await?;
        for (sql, before) in statements {
            sqlx::query(sql).bind(before).execute(&mut *conn).await.map_err(|e| self.failed(e))?;
        }
        Ok(())
    }

    async fn first_registration(&self, version: &str) -> Result<bool, StoreError> {
        let mut conn = self.writing().await?;
        let done = sqlx::query(
            "INSERT INTO registrations (version, registered_at) VALUES ($1, $2) ON CONFLICT (version) DO NOTHING",
        )
        .bind(version.to_owned())
        .bind(now_ms())
        .execute(&mut *conn)
        .await
        .map_err(|e| self.failed(e))?;
        Ok(done.rows_affected() == 1)
    }

    async fn forget_registration(&self, version: &str) -> Result<(), StoreError> {
        let mut conn = self.writing().await?;
        sqlx::query("DELETE FROM registrations WHERE version = $1")
            .bind(version.to_owned())
            .execute(&mut *conn)
            .await
            .map_err(|e| self.failed(e))?;
        Ok(())
    }

    async fn put_pending(
        &self,
        id: &str,
        kind: &str,
        payload: &str,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let mut conn = self.writing().await?;
        sqlx::query(
            "INSERT INTO pending_requests (id, kind, payload, expires_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, payload = excluded.payload, \
             expires_at = excluded.expires_at",
        )
        .bind(id.to_owned())
        .bind(kind.to_owned())
        .bind(kept_text(payload.to_owned()))
        .bind(now_ms().saturating_add(ms(ttl)))
        .execute(&mut *conn)
        .await
        .map_err(|e| self.failed(e))?;
        Ok(())
    }

    async fn take_pending(&self, id: &str, kind: &str) -> Result<Option<String>, StoreError> {
        // One statement: of two confirms at once, in any replicas, only one deletes the row.
        let mut conn = self.writing().await?;
        let row = sqlx::query(
            "DELETE FROM pending_requests WHERE id = $1 AND kind = $2 AND expires_at > $3 RETURNING payload",
        )
        .bind(id.to_owned())
        .bind(kind.to_owned())
        .bind(now_ms())
        .fetch_optional(&mut *conn)
        .await
        .map_err(|e| self.failed(e))?;
        row.map(|row| row.try_get("payload")).transpose().map_err(|e| self.failed(e))
    }

    async fn status(&self) -> Result<StoreStatus, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(|e| self.failed(e))?;
        let applied = conn.list_applied_migrations().await.map_err(|e| StoreError(e.to_string()))?;
        let schema_version = applied.iter().map(|m| m.version).max().unwrap_or(0);
        let rows = sqlx::query("SELECT name, holder FROM leases WHERE expires_at > $1 ORDER BY name")
            .bind(now_ms())
            .fetch_all(&mut *conn)
            .await
            .map_err(|e| self.failed(e))?;
        let live_leases = rows
            .iter()
            .map(|row| Ok((row.try_get("name")?, row.try_get("holder")?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(|e| self.failed(e))?;
        Ok(StoreStatus { engine: self.engine.name(), schema_version, live_leases })
    }
}
