//! The database side: connecting (Postgres with TLS, or a SQLite file), the schema, and every
//! statement the writer and the readers run.
//!
//! Two typed pools rather than `sqlx::Any`: each back end keeps its own connect options (TLS mode
//! for Postgres; WAL, busy timeout, read-only and create-if-missing for SQLite), SQLite can take
//! its write lock up front while migrating (`BEGIN IMMEDIATE`), and no driver registry or
//! placeholder rewriting is involved (`QueryBuilder<Any>` writes `?`, which Postgres refuses).
//! The SQL text is the same for both ([`super::batch`]); [`with_pool!`] runs one body against
//! whichever pool is open.
//!
//! The schema is applied by our own small migrator, not sqlx's: the tables usually live in the
//! app's own `DATABASE_URL`, where sqlx's `_sqlx_migrations` table may already belong to the app.
//! Ours is `autoscale_schema`, guarded by a transaction-scoped advisory lock on Postgres and by
//! `BEGIN IMMEDIATE` on SQLite, so shards starting together apply it once.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgSslMode};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, Executor, Row as SqlRow};

use super::batch::{
    self, Table, ALERTS, HOLDS, PROBES, QUEUE, SCALES, TABLES, TRAFFIC, V1_PROBES, V1_TRAFFIC,
};
use super::pack::{self, hour_of, Merge, HOUR_MS};
use super::rows::{
    from_millis, from_sql, parse_outcome, target_id, to_millis, to_sql, AlertRow, HoldReason,
    HoldRow, ProbeRow, ProbeSource, ScaleRow, TrafficRow,
};
use super::settings::{StoreUrl, Tls};
use super::HistoryData;

/// The schema, in order; each text runs once, in one transaction with its version's record.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("schema/0001_tables.sql")),
    (2, include_str!("schema/0002_packed.sql")),
    (3, include_str!("schema/0003_queue.sql")),
];
/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = 3;
/// Most (target, hour) keys in one statement on a packed table (4 values each).
const KEYS_PER_STATEMENT: usize = 250;
/// Key of the Postgres advisory lock held while migrating ("autoscal" in ASCII).
const MIGRATION_LOCK: i64 = 0x6175_746f_7363_616c;
/// Key of the Postgres advisory lock held while converting schema 1's rows ("autoscam").
const CONVERT_LOCK: i64 = 0x6175_746f_7363_616d;

/// A database failure, already safe to print (see [`StoreUrl::scrub`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct StoreError {
    /// A short class for `reason=`: `connect`, `timeout`, `write`, `schema`, `missing`, `too_many`.
    pub kind: &'static str,
    pub message: String,
}

/// What a connection is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// The writer: creates a missing SQLite file; applies the schema.
    Write,
    /// Readers: never create or change anything.
    Read,
}

/// How the store is set up (the writer's and the readers' knobs).
#[derive(Debug, Clone, Copy)]
pub struct Connect {
    pub access: Access,
    /// Longest wait for a connection from the pool (and so for connecting).
    pub acquire_timeout: Duration,
    /// SQLite: how long a statement waits for another connection's lock before failing.
    pub busy_timeout: Duration,
}

/// A future that is `Send` by construction: the writer runs on a multi-threaded runtime, and
/// rustc cannot prove `Send` through sqlx's higher-ranked executor bounds on its own.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

enum Pool {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

/// One body run against whichever pool is open (the SQL is the same; the types differ).
macro_rules! with_pool {
    ($pool:expr, $p:ident => $body:expr) => {
        match $pool {
            Pool::Postgres($p) => $body,
            Pool::Sqlite($p) => $body,
        }
    };
}

/// Multi-row INSERTs of one table's rows in `tx`, [`batch::MAX_ROWS_PER_STATEMENT`] at a time;
/// `$bind` binds one row's columns in the table's column order.
macro_rules! insert_rows {
    ($store:ident, $tx:ident, $fail:ident, $table:expr, $rows:expr,
     |$query:ident, $id:ident, $row:ident| $bind:expr) => {
        for chunk in $rows.chunks(batch::MAX_ROWS_PER_STATEMENT) {
            let sql = $store.sql(batch::insert_sql(&$table, chunk.len()));
            let mut $query = sqlx::query(&sql);
            for $row in chunk {
                let $id = target_id(&$row.app, &$row.process);
                $query = $bind;
            }
            $query.execute(&mut *$tx).await.map_err($fail)?;
        }
    };
}

/// Merges `$hours` ((target, hour) → new entries, sorted by key) into a packed table in `tx`:
/// rows not there yet are inserted, then every row of the keys is read (locked, on Postgres,
/// so that two shards merging one hour take turns), merged with `$merge` and written back when
/// it changed. Keys go in order, so two shards lock rows in the same order.
macro_rules! write_hours {
    ($store:ident, $tx:ident, $fail:ident, $table:expr, $hours:expr, $merge:path, $how:expr) => {
        let keys: Vec<_> = $hours.iter().collect();
        for chunk in keys.chunks(KEYS_PER_STATEMENT) {
            let sql = $store.sql(batch::insert_new_sql(&$table, chunk.len()));
            let mut query = sqlx::query(&sql);
            for ((id, hour), new) in chunk {
                let (n, data) = $merge(None, new, $how);
                query = query.bind(*id).bind(*hour).bind(n as i32).bind(data);
            }
            let mut inserted: HashSet<(i64, i64)> = HashSet::new();
            for row in query.fetch_all(&mut *$tx).await.map_err($fail)? {
                inserted.insert((
                    row.try_get(0).map_err($fail)?,
                    row.try_get(1).map_err($fail)?,
                ));
            }
            let chunk: Vec<_> = chunk
                .iter()
                .filter(|((id, hour), _)| !inserted.contains(&(*id, *hour)))
                .collect();
            if chunk.is_empty() {
                continue;
            }
            let mut sql = $store.sql(batch::select_hours_sql(&$table, chunk.len()));
            if let Pool::Postgres(_) = &$store.pool {
                sql.push_str(" ORDER BY target_id, hour FOR UPDATE");
            }
            let mut query = sqlx::query(&sql);
            for ((id, hour), _) in &chunk {
                query = query.bind(*id).bind(*hour);
            }
            let mut stored: HashMap<(i64, i64), Vec<u8>> = HashMap::new();
            for row in query.fetch_all(&mut *$tx).await.map_err($fail)? {
                let key = (
                    row.try_get(0).map_err($fail)?,
                    row.try_get(1).map_err($fail)?,
                );
                stored.insert(key, row.try_get(2).map_err($fail)?);
            }
            let mut changed = Vec::new();
            for ((id, hour), new) in chunk {
                let old = stored.get(&(*id, *hour));
                let (n, data) = $merge(old.map(Vec::as_slice), new, $how);
                if old != Some(&data) {
                    changed.push((*id, *hour, n, data));
                }
            }
            if !changed.is_empty() {
                let sql = $store.sql(batch::insert_sql(&$table, changed.len()));
                let mut query = sqlx::query(&sql);
                for (id, hour, n, data) in changed {
                    query = query.bind(id).bind(hour).bind(n as i32).bind(data);
                }
                query.execute(&mut *$tx).await.map_err($fail)?;
            }
        }
    };
}

/// An open store.
pub struct Store {
    pool: Pool,
    url: StoreUrl,
}

/// What a write did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Written {
    /// Rows written (traffic rows counted once per minute, even when upserted over).
    pub rows: u64,
    /// Targets newly registered by this write (to remember after the commit).
    pub registered: Vec<i64>,
    /// Targets whose id is already taken by other names: their rows were not written.
    pub refused: Vec<(i64, String, String)>,
    /// Rows not written because their target was refused.
    pub refused_rows: u64,
}

/// The store as `autoscale check` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counts {
    pub schema_version: Option<i64>,
    pub rows: Vec<(&'static str, u64)>,
    pub oldest: Option<DateTime<Utc>>,
    pub size_bytes: Option<u64>,
}

impl Store {
    /// Connects (bounded by `connect.acquire_timeout`); a writer also applies the schema.
    pub fn open<'a>(
        url: &'a StoreUrl,
        connect: Connect,
    ) -> BoxFuture<'a, Result<Store, StoreError>> {
        Box::pin(async move {
            let pool = match url {
                StoreUrl::Postgres(parsed) => {
                    let options = PgConnectOptions::from_url(parsed)
                        .map_err(|e| error(url, "connect", &e))?
                        .ssl_mode(match Tls::for_url(parsed) {
                            Tls::Disable => PgSslMode::Disable,
                            Tls::Allow => PgSslMode::Allow,
                            Tls::Prefer => PgSslMode::Prefer,
                            Tls::Require => PgSslMode::Require,
                            Tls::VerifyCa => PgSslMode::VerifyCa,
                            Tls::VerifyFull => PgSslMode::VerifyFull,
                        })
                        .application_name("autoscale")
                        // sqlx logs server notices; "already exists, skipping" at every start is
                        // not worth a line.
                        .options([("client_min_messages", "warning")])
                        .disable_statement_logging();
                    // A reader's session is read-only (the server refuses any write) and no
                    // query of it runs longer than 10 s.
                    let options = match connect.access {
                        Access::Write => options,
                        Access::Read => options.options([
                            ("default_transaction_read_only", "on"),
                            ("statement_timeout", "10s"),
                        ]),
                    };
                    Pool::Postgres(
                        PgPoolOptions::new()
                            .max_connections(2)
                            .min_connections(0)
                            .acquire_timeout(connect.acquire_timeout)
                            .idle_timeout(Some(Duration::from_secs(300)))
                            .connect_with(options)
                            .await
                            .map_err(|e| error(url, "connect", &e))?,
                    )
                }
                StoreUrl::Sqlite(path) => {
                    let write = connect.access == Access::Write;
                    let options = SqliteConnectOptions::new()
                        .filename(path)
                        .create_if_missing(write)
                        .read_only(!write)
                        .busy_timeout(connect.busy_timeout)
                        .disable_statement_logging();
                    let options = if write {
                        options.synchronous(SqliteSynchronous::Normal)
                    } else {
                        options
                    };
                    let pool = SqlitePoolOptions::new()
                        .max_connections(1)
                        .acquire_timeout(connect.acquire_timeout)
                        .connect_with(options)
                        .await
                        .map_err(|e| error(url, "connect", &e))?;
                    // WAL lets readers (`chart`) read while the daemon writes; a reader leaves the
                    // file's journal mode alone.
                    if write {
                        enable_wal(&pool, connect.busy_timeout)
                            .await
                            .map_err(|e| error(url, "connect", &e))?;
                    }
                    Pool::Sqlite(pool)
                }
            };
            Ok(Store {
                pool,
                url: url.clone(),
            })
        })
    }

    /// Applies the schema versions this build knows and the database lacks; returns the
    /// database's version (which may be newer than ours: an older build keeps writing the
    /// tables it knows during a rolling restart).
    pub fn migrate<'a>(&'a self) -> BoxFuture<'a, Result<i64, StoreError>> {
        Box::pin(async move {
            let fail = |e: sqlx::Error| error(&self.url, "schema", &e);
            let now = Utc::now().timestamp_millis();
            with_pool!(&self.pool, pool => {
                let mut tx = match &self.pool {
                    Pool::Postgres(_) => pool.begin().await,
                    Pool::Sqlite(_) => pool.begin_with("BEGIN IMMEDIATE").await,
                }
                .map_err(fail)?;
                if let Pool::Postgres(_) = &self.pool {
                    sqlx::query("SELECT pg_advisory_xact_lock($1)")
                        .bind(MIGRATION_LOCK)
                        .execute(&mut *tx)
                        .await
                        .map_err(fail)?;
                }
                // A text without arguments runs as a plain (multi-statement) query on both.
                (&mut *tx)
                    .execute(
                        "CREATE TABLE IF NOT EXISTS autoscale_schema \
                         (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
                    )
                    .await
                .map_err(fail)?;
                let found: i64 = sqlx::query_scalar::<_, Option<i64>>(
                    "SELECT max(version) FROM autoscale_schema",
                )
                .fetch_one(&mut *tx)
                .await
                .map_err(fail)?
                .unwrap_or(0);
                let mut version = found;
                for (number, sql) in MIGRATIONS.iter().filter(|(n, _)| *n > found) {
                    let sql = match &self.pool {
                        Pool::Postgres(_) => sql.to_string(),
                        Pool::Sqlite(_) => sql.replace("BYTEA", "BLOB"),
                    };
                    (&mut *tx).execute(sql.as_str()).await.map_err(fail)?;
                    sqlx::query("INSERT INTO autoscale_schema (version, applied_at) VALUES ($1, $2)")
                        .bind(number)
                        .bind(now)
                        .execute(&mut *tx)
                        .await
                        .map_err(fail)?;
                    version = *number;
                }
                tx.commit().await.map_err(fail)?;
                Ok(version)
            })
        })
    }

    /// The database's schema version; `missing` when it has no history tables.
    pub fn schema_version<'a>(&'a self) -> BoxFuture<'a, Result<i64, StoreError>> {
        Box::pin(async move {
            let version = with_pool!(&self.pool, pool => {
                sqlx::query_scalar::<_, Option<i64>>("SELECT max(version) FROM autoscale_schema")
                    .fetch_one(pool)
                    .await
            });
            match version {
                Ok(Some(v)) => Ok(v),
                Ok(None) => Err(missing(&self.url)),
                Err(sqlx::Error::Database(e)) if is_missing_table(e.message()) => {
                    Err(missing(&self.url))
                }
                Err(e) => Err(error(&self.url, "connect", &e)),
            }
        })
    }

    /// Writes a batch in one transaction: registers its new targets (`known` are already
    /// registered), then multi-row INSERTs, the traffic as an upsert.
    pub fn write<'a>(
        &'a self,
        batch: &'a mut HistoryData,
        known: &'a HashSet<i64>,
    ) -> BoxFuture<'a, Result<Written, StoreError>> {
        Box::pin(async move {
            let fail = |e: sqlx::Error| error(&self.url, "write", &e);
            let mut written = Written::default();
            let new: Vec<(i64, String, String)> = batch
                .targets()
                .into_iter()
                .filter(|(id, _)| !known.contains(id))
                .map(|(id, (app, process))| (id, app, process))
                .collect();
            with_pool!(&self.pool, pool => {
                let mut tx = pool.begin().await.map_err(fail)?;
                for chunk in new.chunks(batch::MAX_ROWS_PER_STATEMENT) {
                    let sql = self.sql(batch::insert_targets_sql(chunk.len()));
                    let mut query = sqlx::query(&sql);
                    for (id, app, process) in chunk {
                        query = query.bind(id).bind(app.as_str()).bind(process.as_str());
                    }
                    query.execute(&mut *tx).await.map_err(fail)?;
                    let sql = self.sql(batch::select_targets_sql(chunk.len()));
                    let mut query = sqlx::query(&sql);
                    for (id, _, _) in chunk {
                        query = query.bind(id);
                    }
                    for row in query.fetch_all(&mut *tx).await.map_err(fail)? {
                        let id: i64 = row.try_get(0).map_err(fail)?;
                        let app: String = row.try_get(1).map_err(fail)?;
                        let process: String = row.try_get(2).map_err(fail)?;
                        if chunk.iter().any(|(i, a, p)| *i == id && *a == app && *p == process) {
                            written.registered.push(id);
                        } else {
                            written.refused.push((id, app, process));
                        }
                    }
                }
                let refused: Vec<i64> = written.refused.iter().map(|(id, _, _)| *id).collect();
                written.refused_rows = batch.without_targets(&refused) as u64;

                let traffic = batch::traffic_hours(&batch.traffic);
                write_hours!(self, tx, fail, TRAFFIC, traffic, pack::merge_minutes, Merge::NewWins);
                let queue = batch::queue_hours(&batch.queue);
                write_hours!(self, tx, fail, QUEUE, queue, pack::merge_queue_minutes, Merge::NewWins);
                let probes = batch::probe_hours(&batch.probes);
                write_hours!(self, tx, fail, PROBES, probes, pack::merge_probes, Merge::NewWins);
                insert_rows!(self, tx, fail, SCALES, batch.scales, |query, id, r| query
                    .bind(id)
                    .bind(to_millis(r.at))
                    .bind(to_sql(r.from))
                    .bind(to_sql(r.to))
                    .bind(r.reason.as_str())
                    .bind(r.result.as_str()));
                insert_rows!(self, tx, fail, HOLDS, batch.holds, |query, id, r| query
                    .bind(id)
                    .bind(to_millis(r.at))
                    .bind(r.until.map(to_millis))
                    .bind(to_sql(r.quantity))
                    .bind(r.ended)
                    .bind(r.reason.as_str()));
                insert_rows!(self, tx, fail, ALERTS, batch.alerts, |query, id, r| query
                    .bind(id)
                    .bind(to_millis(r.at))
                    .bind(r.kind.as_str())
                    .bind(r.message.as_str()));
                tx.commit().await.map_err(fail)?;
            });
            written.rows = batch.len() as u64;
            Ok(written)
        })
    }

    /// Every target id in the store (retention goes through them one by one).
    pub fn target_ids<'a>(&'a self) -> BoxFuture<'a, Result<Vec<i64>, StoreError>> {
        Box::pin(async move {
            let fail = |e: sqlx::Error| error(&self.url, "prune", &e);
            with_pool!(&self.pool, pool => {
                sqlx::query_scalar::<_, i64>("SELECT id FROM autoscale_targets ORDER BY id")
                    .fetch_all(pool)
                    .await
                    .map_err(fail)
            })
        })
    }

    /// Every target the store has rows of, as (app, process), sorted; at most `cap`.
    pub fn targets<'a>(
        &'a self,
        cap: usize,
    ) -> BoxFuture<'a, Result<Vec<(String, String)>, StoreError>> {
        Box::pin(async move {
            let fail = |e: sqlx::Error| error(&self.url, "read", &e);
            let limit = i64::try_from(cap).unwrap_or(i64::MAX);
            with_pool!(&self.pool, pool => {
                sqlx::query_as::<_, (String, String)>(
                    "SELECT app, process FROM autoscale_targets ORDER BY app, process LIMIT $1",
                )
                .bind(limit)
                .fetch_all(pool)
                .await
                .map_err(fail)
            })
        })
    }

    /// Deletes at most about `batch` rows of one target older than `cutoff_ms`; `true` when
    /// more may be left. A packed table deletes whole hours, `batch` hours at a time, then cuts
    /// the hour that holds the cutoff to what is not older.
    pub fn prune_step<'a>(
        &'a self,
        table: &'a Table,
        target: i64,
        cutoff_ms: i64,
        batch: usize,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let fail = |e: sqlx::Error| error(&self.url, "prune", &e);
            let before = if table.packed() {
                hour_of(cutoff_ms)
            } else {
                cutoff_ms
            };
            with_pool!(&self.pool, pool => {
                let bound: Option<i64> = sqlx::query_scalar(&batch::prune_bound_sql(table, batch))
                    .bind(target)
                    .bind(before)
                    .fetch_optional(pool)
                    .await
                    .map_err(fail)?;
                let (sql, until) = match bound {
                    Some(bound) => (batch::prune_sql(table, true), bound),
                    None => (batch::prune_sql(table, false), before),
                };
                sqlx::query(&sql)
                    .bind(target)
                    .bind(until)
                    .execute(pool)
                    .await
                    .map_err(fail)?;
                if bound.is_none() && table.packed() && before < cutoff_ms {
                    let mut tx = pool.begin().await.map_err(fail)?;
                    let sql = self.sql(batch::select_hours_sql(table, 1));
                    let value: Option<(i64, i64, Vec<u8>)> = sqlx::query_as(&sql)
                        .bind(target)
                        .bind(before)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(fail)?;
                    if let Some((_, hour, value)) = value {
                        let (n, data) = kept_from(table, &value, cutoff_ms - hour);
                        if n == 0 {
                            sqlx::query(&batch::prune_sql(table, true))
                                .bind(target)
                                .bind(hour)
                                .execute(&mut *tx)
                                .await
                                .map_err(fail)?;
                        } else if data != value {
                            sqlx::query(&self.sql(batch::insert_sql(table, 1)))
                                .bind(target)
                                .bind(hour)
                                .bind(n as i32)
                                .bind(data)
                                .execute(&mut *tx)
                                .await
                                .map_err(fail)?;
                        }
                    }
                    tx.commit().await.map_err(fail)?;
                }
                Ok(bound.is_some())
            })
        })
    }

    /// Writes `data` as schema 1 did (a row per traffic minute and probe), creating schema 1
    /// when the database has no history: how a history written by an earlier build looks, for
    /// the migration's tests and measurements.
    pub fn write_schema1<'a>(
        &'a self,
        data: &'a HistoryData,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let fail = |e: sqlx::Error| error(&self.url, "write", &e);
            let fresh = self.schema_version().await.is_err();
            with_pool!(&self.pool, pool => {
                let mut tx = pool.begin().await.map_err(fail)?;
                if fresh {
                    (&mut *tx)
                        .execute(
                            "CREATE TABLE autoscale_schema \
                             (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
                        )
                        .await
                        .map_err(fail)?;
                    (&mut *tx).execute(MIGRATIONS[0].1).await.map_err(fail)?;
                    (&mut *tx)
                        .execute("INSERT INTO autoscale_schema (version, applied_at) VALUES (1, 0)")
                        .await
                        .map_err(fail)?;
                }
                let targets: Vec<(i64, (String, String))> = data.targets().into_iter().collect();
                for chunk in targets.chunks(batch::MAX_ROWS_PER_STATEMENT) {
                    let sql = self.sql(batch::insert_targets_sql(chunk.len()));
                    let mut query = sqlx::query(&sql);
                    for (id, (app, process)) in chunk {
                        query = query.bind(id).bind(app.as_str()).bind(process.as_str());
                    }
                    query.execute(&mut *tx).await.map_err(fail)?;
                }
                insert_rows!(self, tx, fail, V1_TRAFFIC, data.traffic, |query, id, r| query
                    .bind(id)
                    .bind(to_millis(r.minute))
                    .bind(r.busy)
                    .bind(to_sql(r.requests))
                    .bind(to_sql(r.p50_ms))
                    .bind(to_sql(r.p95_ms))
                    .bind(to_sql(r.p99_ms))
                    .bind(to_sql(r.errors))
                    .bind(to_sql(r.h10))
                    .bind(to_sql(r.h12))
                    .bind(to_sql(r.h13))
                    .bind(to_sql(r.s2xx))
                    .bind(to_sql(r.s3xx))
                    .bind(to_sql(r.s4xx))
                    .bind(to_sql(r.s5xx))
                    .bind(to_sql(r.dynos)));
                insert_rows!(self, tx, fail, V1_PROBES, data.probes, |query, id, r| query
                    .bind(id)
                    .bind(to_millis(r.at))
                    .bind(r.latency_ms.map(to_sql))
                    .bind(r.status.map(to_sql))
                    .bind(r.source.as_str())
                    .bind(r.outcome.as_str()));
                tx.commit().await.map_err(fail)?;
            });
            // The events' tables are the same in both versions.
            let mut events = HistoryData {
                traffic: Vec::new(),
                probes: Vec::new(),
                ..data.clone()
            };
            self.write(&mut events, &HashSet::new()).await?;
            Ok(())
        })
    }

    /// Gives free space back: a SQLite file is checkpointed and rebuilt (`VACUUM`), so that its
    /// size is what the data takes; Postgres is left to autovacuum.
    pub fn compact<'a>(&'a self) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            if let Pool::Sqlite(pool) = &self.pool {
                let fail = |e: sqlx::Error| error(&self.url, "write", &e);
                sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                    .execute(pool)
                    .await
                    .map_err(fail)?;
                sqlx::query("VACUUM").execute(pool).await.map_err(fail)?;
            }
            Ok(())
        })
    }

    /// Whether the database has the table `name`.
    fn has_table<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let fail = |e: sqlx::Error| error(&self.url, "read", &e);
            let n: i64 = match &self.pool {
                Pool::Postgres(pool) => sqlx::query_scalar(
                    "SELECT count(*) FROM pg_catalog.pg_tables \
                     WHERE tablename = $1 AND schemaname = current_schema()",
                )
                .bind(name)
                .fetch_one(pool)
                .await
                .map_err(fail)?,
                Pool::Sqlite(pool) => sqlx::query_scalar(
                    "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = $1",
                )
                .bind(name)
                .fetch_one(pool)
                .await
                .map_err(fail)?,
            };
            Ok(n > 0)
        })
    }

    /// One step of converting schema 1's rows (a row per traffic minute or probe) to packed
    /// hours: about `batch` rows of one target, oldest first, moved in one transaction (a
    /// minute already packed is kept: it was written later). A table left empty is dropped.
    /// `false` when nothing is left to convert.
    pub fn convert_step<'a>(&'a self, batch: usize) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            for old in [V1_TRAFFIC, V1_PROBES] {
                match self.convert_table(old, batch).await {
                    Ok(true) => return Ok(true),
                    Ok(false) => {}
                    // Dropped by another shard that finished it meanwhile.
                    Err(e) if is_missing_table(&e.message) => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(false)
        })
    }

    /// One step of [`Store::convert_step`] on schema 1's table `old`; `false` when it is gone
    /// or now dropped.
    fn convert_table<'a>(
        &'a self,
        old: Table,
        batch: usize,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let fail = |e: sqlx::Error| error(&self.url, "convert", &e);
            if !self.has_table(old.name).await? {
                return Ok(false);
            }
            let time = old.time;
            let first: Option<(i64, i64)> = with_pool!(&self.pool, pool => {
                sqlx::query_as(&format!(
                    "SELECT target_id, {time} FROM {} ORDER BY target_id, {time} LIMIT 1",
                    old.name
                ))
                .fetch_optional(pool)
                .await
                .map_err(fail)?
            });
            let Some((target, first)) = first else {
                with_pool!(&self.pool, pool => {
                    sqlx::query(&format!("DROP TABLE IF EXISTS {}", old.name))
                        .execute(pool)
                        .await
                        .map_err(fail)?;
                });
                return Ok(false);
            };
            let bound: Option<i64> = with_pool!(&self.pool, pool => {
                sqlx::query_scalar(&format!(
                    "SELECT {time} FROM {} WHERE target_id = $1 ORDER BY {time} LIMIT 1 OFFSET {}",
                    old.name,
                    batch.saturating_sub(1)
                ))
                .bind(target)
                .fetch_optional(pool)
                .await
                .map_err(fail)?
            });
            // Whole hours, so that an hour is merged once.
            let until = bound.map_or(i64::MAX, |b| hour_of(b) + HOUR_MS);
            let names: BTreeMap<i64, (String, String)> = with_pool!(&self.pool, pool => {
                sqlx::query_as::<_, (i64, String, String)>(
                    "SELECT id, app, process FROM autoscale_targets WHERE id = $1",
                )
                .bind(target)
                .fetch_all(pool)
                .await
                .map_err(fail)?
                .into_iter()
                .map(|(id, a, p)| (id, (a, p)))
                .collect()
            });
            let count: i64 = with_pool!(&self.pool, pool => {
                sqlx::query_scalar(&format!(
                    "SELECT count(*) FROM {} WHERE target_id = $1 AND {time} < $2",
                    old.name
                ))
                .bind(target)
                .bind(until)
                .fetch_one(pool)
                .await
                .map_err(fail)?
            });
            let rows = self
                .read_rows(&names, &[old], first, until, i64::MAX as usize - 1)
                .await?;
            let traffic = batch::traffic_hours(&rows.traffic);
            let probes = batch::probe_hours(&rows.probes);
            with_pool!(&self.pool, pool => {
                let mut tx = match &self.pool {
                    Pool::Postgres(_) => pool.begin().await,
                    Pool::Sqlite(_) => pool.begin_with("BEGIN IMMEDIATE").await,
                }
                .map_err(fail)?;
                // Shards converting at once take turns (SQLite: BEGIN IMMEDIATE).
                if let Pool::Postgres(_) = &self.pool {
                    sqlx::query("SELECT pg_advisory_xact_lock($1)")
                        .bind(CONVERT_LOCK)
                        .execute(&mut *tx)
                        .await
                        .map_err(fail)?;
                }
                // Deleted first (rows of no known target or an unknown label cannot be
                // converted: gone too). Fewer or more rows than were read: another shard
                // converted them meanwhile (or an older build wrote more): this step is
                // rolled back and taken again, so no probe is merged twice.
                let deleted = sqlx::query(&format!(
                    "DELETE FROM {} WHERE target_id = $1 AND {time} < $2",
                    old.name
                ))
                .bind(target)
                .bind(until)
                .execute(&mut *tx)
                .await
                .map_err(fail)?
                .rows_affected();
                if i64::try_from(deleted).ok() != Some(count) {
                    tx.rollback().await.map_err(fail)?;
                    return Ok(true);
                }
                write_hours!(self, tx, fail, TRAFFIC, traffic, pack::merge_minutes, Merge::OldWins);
                write_hours!(self, tx, fail, PROBES, probes, pack::merge_probes, Merge::OldWins);
                tx.commit().await.map_err(fail)?;
            });
            Ok(true)
        })
    }

    /// All rows of `app` (one `process`, or all of them) in `[since, until)`, each kind
    /// time-ordered; more than `cap` rows of one kind is an error (narrow the range).
    pub fn read<'a>(
        &'a self,
        app: &'a str,
        process: Option<&'a str>,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        cap: usize,
    ) -> BoxFuture<'a, Result<HistoryData, StoreError>> {
        Box::pin(async move {
            let fail = |e: sqlx::Error| error(&self.url, "read", &e);
            let (since, until) = (to_millis(since), to_millis(until));
            let targets: Vec<(i64, String, String)> = with_pool!(&self.pool, pool => {
                sqlx::query_as(
                    "SELECT id, app, process FROM autoscale_targets \
                     WHERE app = $1 AND ($2 IS NULL OR process = $2) ORDER BY id",
                )
                .bind(app)
                .bind(process)
                .fetch_all(pool)
                .await
                .map_err(fail)?
            });
            if targets.is_empty() {
                return Ok(HistoryData::default());
            }
            let names: BTreeMap<i64, (String, String)> =
                targets.into_iter().map(|(id, a, p)| (id, (a, p))).collect();
            let mut data = self
                .read_rows(&names, &[SCALES, HOLDS, ALERTS], since, until, cap)
                .await?;
            // Schema 1's tables, while the writer still converts them (and drops them when
            // done, perhaps just now).
            for table in [V1_TRAFFIC, V1_PROBES] {
                if !self.has_table(table.name).await? {
                    continue;
                }
                match self.read_rows(&names, &[table], since, until, cap).await {
                    Ok(old) => {
                        data.traffic.extend(old.traffic);
                        data.probes.extend(old.probes);
                    }
                    Err(e) if is_missing_table(&e.message) => {}
                    Err(e) => return Err(e),
                }
            }
            let packed = self.read_packed(&names, since, until, cap).await?;
            // A minute in both (converted meanwhile) is the packed one.
            let minutes: HashSet<(i64, i64)> = packed
                .traffic
                .iter()
                .map(|r| (target_id(&r.app, &r.process), to_millis(r.minute)))
                .collect();
            data.traffic.retain(|r| {
                !minutes.contains(&(target_id(&r.app, &r.process), to_millis(r.minute)))
            });
            data.traffic.extend(packed.traffic);
            data.queue.extend(packed.queue);
            data.probes.extend(packed.probes);
            // As schema 1 read them: by time, then target.
            data.traffic
                .sort_by_cached_key(|r| (r.minute, target_id(&r.app, &r.process)));
            data.probes
                .sort_by_cached_key(|r| (r.at, target_id(&r.app, &r.process)));
            data.queue
                .sort_by_cached_key(|r| (r.minute, target_id(&r.app, &r.process)));
            for (kind, n) in [
                ("traffic", data.traffic.len()),
                ("queue", data.queue.len()),
                ("probe", data.probes.len()),
            ] {
                if n > cap {
                    return Err(too_many(cap, kind));
                }
            }
            Ok(data)
        })
    }

    /// The packed traffic and probes of `names` in `[since, until)`, unsorted.
    fn read_packed<'a>(
        &'a self,
        names: &'a BTreeMap<i64, (String, String)>,
        since: i64,
        until: i64,
        cap: usize,
    ) -> BoxFuture<'a, Result<HistoryData, StoreError>> {
        Box::pin(async move {
            let fail = |e: sqlx::Error| error(&self.url, "read", &e);
            let mut data = HistoryData::default();
            // Hours are at most as many as their minutes.
            for table in [TRAFFIC, QUEUE, PROBES] {
                // A schema 1 history not yet migrated by a writer.
                if !self.has_table(table.name).await? {
                    continue;
                }
                let rows: Vec<(i64, i64, Vec<u8>)> = with_pool!(&self.pool, pool => {
                    let sql = self.sql(batch::select_sql(&table, names.len(), cap + 1));
                    let mut query = sqlx::query_as::<_, (i64, i64, i32, Vec<u8>)>(&sql);
                    for id in names.keys() {
                        query = query.bind(id);
                    }
                    query
                        .bind(hour_of(since))
                        .bind(until)
                        .fetch_all(pool)
                        .await
                        .map_err(fail)?
                        .into_iter()
                        .map(|(id, hour, _, value)| (id, hour, value))
                        .collect()
                });
                if rows.len() > cap {
                    return Err(too_many(cap, table.name));
                }
                for (id, hour, value) in rows {
                    let Some((app, process)) = names.get(&id) else {
                        continue;
                    };
                    let inside = |at: i64| since <= at && at < until;
                    // A value this build cannot read (a newer format, damage) is skipped.
                    if table.name == TRAFFIC.name {
                        for m in pack::decode_minutes(&value).unwrap_or_default() {
                            match pack::unpack_minute(app, process, hour, &m) {
                                Some(row) if inside(to_millis(row.minute)) => {
                                    data.traffic.push(row)
                                }
                                _ => {}
                            }
                        }
                    } else if table.name == QUEUE.name {
                        for m in pack::decode_queue_minutes(&value).unwrap_or_default() {
                            match pack::unpack_queue_minute(app, process, hour, &m) {
                                Some(row) if inside(to_millis(row.minute)) => data.queue.push(row),
                                _ => {}
                            }
                        }
                    } else {
                        for p in pack::decode_probes(&value).unwrap_or_default() {
                            match pack::unpack_probe(app, process, hour, &p) {
                                Some(row) if inside(to_millis(row.at)) => data.probes.push(row),
                                _ => {}
                            }
                        }
                    }
                    if data.traffic.len() > cap || data.queue.len() > cap || data.probes.len() > cap
                    {
                        return Err(too_many(cap, table.name));
                    }
                }
            }
            Ok(data)
        })
    }

    /// Rows of `names` in `[since, until)` from tables with a row per event, each kind
    /// time-ordered; more than `cap` rows of one table is an error.
    fn read_rows<'a>(
        &'a self,
        names: &'a BTreeMap<i64, (String, String)>,
        tables: &'a [Table],
        since: i64,
        until: i64,
        cap: usize,
    ) -> BoxFuture<'a, Result<HistoryData, StoreError>> {
        Box::pin(async move {
            let fail = |e: sqlx::Error| error(&self.url, "read", &e);
            let mut data = HistoryData::default();
            with_pool!(&self.pool, pool => {
                for table in tables {
                    let sql = self.sql(batch::select_sql(table, names.len(), cap + 1));
                    let mut query = sqlx::query(&sql);
                    for id in names.keys() {
                        query = query.bind(id);
                    }
                    let rows = query.bind(since).bind(until).fetch_all(pool).await.map_err(fail)?;
                    if rows.len() > cap {
                        return Err(too_many(cap, table.name));
                    }
                    for row in &rows {
                        let id: i64 = row.try_get(0).map_err(fail)?;
                        let at: i64 = row.try_get(1).map_err(fail)?;
                        let (Some((app, process)), Some(at)) = (names.get(&id), from_millis(at)) else {
                            continue;
                        };
                        let (app, process) = (app.clone(), process.clone());
                        let int = |i: usize| row.try_get::<i32, _>(i).map(from_sql);
                        let opt = |i: usize| row.try_get::<Option<i32>, _>(i).map(|v| v.map(from_sql));
                        let text = |i: usize| row.try_get::<String, _>(i);
                        match table.name {
                            "autoscale_traffic" => data.traffic.push(TrafficRow {
                                app,
                                process,
                                minute: at,
                                busy: row.try_get(2).map_err(fail)?,
                                requests: int(3).map_err(fail)?,
                                p50_ms: int(4).map_err(fail)?,
                                p95_ms: int(5).map_err(fail)?,
                                p99_ms: int(6).map_err(fail)?,
                                errors: int(7).map_err(fail)?,
                                h10: int(8).map_err(fail)?,
                                h12: int(9).map_err(fail)?,
                                h13: int(10).map_err(fail)?,
                                s2xx: int(11).map_err(fail)?,
                                s3xx: int(12).map_err(fail)?,
                                s4xx: int(13).map_err(fail)?,
                                s5xx: int(14).map_err(fail)?,
                                dynos: int(15).map_err(fail)?,
                            }),
                            "autoscale_probes" => {
                                // A label this build does not know (a newer one wrote it): skipped.
                                let (Some(source), Some(outcome)) = (
                                    ProbeSource::parse(&text(4).map_err(fail)?),
                                    parse_outcome(&text(5).map_err(fail)?),
                                ) else {
                                    continue;
                                };
                                data.probes.push(ProbeRow {
                                    app,
                                    process,
                                    at,
                                    latency_ms: opt(2).map_err(fail)?,
                                    status: opt(3).map_err(fail)?,
                                    source,
                                    outcome,
                                });
                            }
                            "autoscale_scales" => data.scales.push(ScaleRow {
                                app,
                                process,
                                at,
                                from: int(2).map_err(fail)?,
                                to: int(3).map_err(fail)?,
                                reason: text(4).map_err(fail)?,
                                result: text(5).map_err(fail)?,
                            }),
                            "autoscale_holds" => {
                                let Some(reason) = HoldReason::parse(&text(5).map_err(fail)?) else {
                                    continue;
                                };
                                let until: Option<i64> = row.try_get(2).map_err(fail)?;
                                data.holds.push(HoldRow {
                                    app,
                                    process,
                                    at,
                                    until: until.and_then(from_millis),
                                    quantity: int(3).map_err(fail)?,
                                    ended: row.try_get(4).map_err(fail)?,
                                    reason,
                                });
                            }
                            _ => data.alerts.push(AlertRow {
                                app,
                                process,
                                at,
                                kind: text(2).map_err(fail)?,
                                message: text(3).map_err(fail)?,
                            }),
                        }
                    }
                }
                Ok::<(), StoreError>(())
            })?;
            Ok(data)
        })
    }

    /// Rows per table, the oldest instant kept and the size on disk.
    pub fn counts<'a>(&'a self) -> BoxFuture<'a, Result<Counts, StoreError>> {
        Box::pin(async move {
            let schema_version = self.schema_version().await?;
            let fail = |e: sqlx::Error| error(&self.url, "read", &e);
            let mut rows = Vec::new();
            let mut oldest: Option<i64> = None;
            // Schema 1's tables while they are converted, and the tables of a newer schema
            // than the database's (a writer of this build has not migrated it yet).
            let mut present = Vec::new();
            for table in TABLES.iter().chain(&[V1_TRAFFIC, V1_PROBES]) {
                if self.has_table(table.name).await? {
                    present.push(*table);
                }
            }
            with_pool!(&self.pool, pool => {
                for table in &present {
                    // Packed tables: the minutes or probes they hold, counted with schema 1's
                    // rows still to convert, under schema 1's names.
                    let count = if table.packed() { "coalesce(sum(n), 0)" } else { "count(*)" };
                    let count: i64 = sqlx::query_scalar(&format!("SELECT {count} FROM {}", table.name))
                        .fetch_one(pool)
                        .await
                        .map_err(fail)?;
                    let count = u64::try_from(count).unwrap_or(0);
                    let label = match table.name {
                        n if n == TRAFFIC.name => V1_TRAFFIC.name,
                        n if n == PROBES.name => V1_PROBES.name,
                        n if n == QUEUE.name => "autoscale_queue",
                        n => n,
                    };
                    match rows.iter_mut().find(|(l, _)| *l == label) {
                        Some((_, n)) => *n += count,
                        None => rows.push((label, count)),
                    }
                    // Per target through the (target_id, time) index, then the smallest.
                    let first: Option<i64> = sqlx::query_scalar(&format!(
                        "SELECT min(t) FROM (SELECT (SELECT min({time}) FROM {table} \
                         WHERE target_id = g.id) AS t FROM autoscale_targets g) AS firsts",
                        time = table.time,
                        table = table.name,
                    ))
                    .fetch_one(pool)
                    .await
                    .map_err(fail)?;
                    // A packed table's first hour: its first minute or probe.
                    let first = match first {
                        Some(hour) if table.packed() => {
                            let values: Vec<Vec<u8>> = sqlx::query_scalar(&format!(
                                "SELECT data FROM {} WHERE hour = $1", table.name
                            ))
                            .bind(hour)
                            .fetch_all(pool)
                            .await
                            .map_err(fail)?;
                            values.iter().filter_map(|v| first_offset(table, v)).min().map(|o| hour.saturating_add(o))
                        }
                        first => first,
                    };
                    oldest = match (oldest, first) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    };
                }
                Ok::<(), StoreError>(())
            })?;
            let size: i64 = match &self.pool {
                Pool::Postgres(pool) => {
                    let sum = TABLES
                        .iter()
                        .chain(&[V1_TRAFFIC, V1_PROBES])
                        .map(|t| t.name)
                        .chain(["autoscale_targets"])
                        .map(|t| format!("coalesce(pg_total_relation_size(to_regclass('{t}')), 0)"))
                        .collect::<Vec<_>>()
                        .join(" + ");
                    sqlx::query_scalar(&format!("SELECT ({sum})::BIGINT"))
                        .fetch_one(pool)
                        .await
                        .map_err(fail)?
                }
                Pool::Sqlite(pool) => sqlx::query_scalar(
                    "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
                )
                .fetch_one(pool)
                .await
                .map_err(fail)?,
            };
            Ok(Counts {
                schema_version: Some(schema_version),
                rows,
                oldest: oldest.and_then(from_millis),
                size_bytes: u64::try_from(size).ok(),
            })
        })
    }

    /// Closes the pool's connections (waits for those in use).
    pub fn close<'a>(&'a self) -> BoxFuture<'a, ()> {
        Box::pin(async move { with_pool!(&self.pool, pool => pool.close().await) })
    }
}

impl Store {
    /// A statement from [`batch`] as this back end wants it (see [`batch::for_sqlite`]).
    fn sql(&self, sql: String) -> String {
        match self.pool {
            Pool::Postgres(_) => sql,
            Pool::Sqlite(_) => batch::for_sqlite(&sql),
        }
    }
}

/// Milliseconds from a packed value's hour to its first minute or probe.
fn first_offset(table: &Table, value: &[u8]) -> Option<i64> {
    let minute = |m: u8| i64::from(m) * 60_000;
    match table.name {
        n if n == TRAFFIC.name => pack::decode_minutes(value)
            .ok()?
            .first()
            .map(|m| minute(m.minute)),
        n if n == QUEUE.name => pack::decode_queue_minutes(value)
            .ok()?
            .first()
            .map(|m| minute(m.minute)),
        _ => pack::decode_probes(value)
            .ok()?
            .iter()
            .map(|p| i64::from(p.offset_ms))
            .min(),
    }
}

/// What of a packed value is `keep_from` milliseconds into its hour or later: how many minutes
/// or probes, and the value (an unreadable value keeps nothing).
fn kept_from(table: &Table, value: &[u8], keep_from: i64) -> (usize, Vec<u8>) {
    let kept = |m: u8| i64::from(m) * 60_000 >= keep_from;
    match table.name {
        n if n == TRAFFIC.name => {
            let mut minutes = pack::decode_minutes(value).unwrap_or_default();
            minutes.retain(|m| kept(m.minute));
            (minutes.len(), pack::encode_minutes(&minutes))
        }
        n if n == QUEUE.name => {
            let mut minutes = pack::decode_queue_minutes(value).unwrap_or_default();
            minutes.retain(|m| kept(m.minute));
            (minutes.len(), pack::encode_queue_minutes(&minutes))
        }
        _ => {
            let mut probes = pack::decode_probes(value).unwrap_or_default();
            probes.retain(|p| i64::from(p.offset_ms) >= keep_from);
            (probes.len(), pack::encode_probes(&probes))
        }
    }
}

fn too_many(cap: usize, what: &str) -> StoreError {
    StoreError {
        kind: "too_many",
        message: format!("more than {cap} {what} rows in the range: ask for a shorter one"),
    }
}

fn missing(url: &StoreUrl) -> StoreError {
    StoreError {
        kind: "missing",
        message: format!("{url} has no autoscale history (the daemon creates it)"),
    }
}

fn is_missing_table(message: &str) -> bool {
    // Postgres: relation "autoscale_schema" does not exist; SQLite: no such table.
    message.contains("does not exist") || message.contains("no such table")
}

/// A sqlx error as a [`StoreError`]: classified, and scrubbed of the URL and its password.
/// Puts the SQLite file in WAL mode (a lasting property of the file). The switch needs an
/// exclusive lock that SQLite's busy timeout does not wait for: when two shards open a new file
/// at the same instant, one is refused at once with "database is locked". So the switch is
/// retried here, with short growing pauses, for at most `patience`.
async fn enable_wal(pool: &SqlitePool, patience: Duration) -> Result<(), sqlx::Error> {
    let deadline = tokio::time::Instant::now() + patience;
    let mut pause = Duration::from_millis(5);
    loop {
        match sqlx::query_scalar::<_, String>("PRAGMA journal_mode = WAL")
            .fetch_one(pool)
            .await
        {
            Ok(_) => return Ok(()),
            Err(sqlx::Error::Database(e))
                if is_busy(e.code().as_deref())
                    && tokio::time::Instant::now() + pause < deadline =>
            {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(100));
            }
            Err(e) => return Err(e),
        }
    }
}

/// SQLITE_BUSY, with or without an extended code (`database is locked`).
fn is_busy(code: Option<&str>) -> bool {
    code.and_then(|c| c.parse::<i32>().ok())
        .is_some_and(|c| c & 0xff == 5)
}

fn error(url: &StoreUrl, kind: &'static str, e: &sqlx::Error) -> StoreError {
    let kind = match e {
        sqlx::Error::PoolTimedOut => "timeout",
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => "connect",
        _ => kind,
    };
    StoreError {
        kind,
        message: url.scrub(&e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::is_busy;

    #[test]
    fn busy_is_code_5_with_or_without_its_extended_part() {
        for code in ["5", "261", "517", "773"] {
            assert!(is_busy(Some(code)), "{code}");
        }
        for code in [None, Some("6"), Some("1"), Some("21"), Some("x"), Some("")] {
            assert!(!is_busy(code), "{code:?}");
        }
    }
}
