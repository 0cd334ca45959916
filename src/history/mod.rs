//! History: the daemon remembers its traffic minutes, queue minutes, probes, scales, holds and alerts in the
//! user's own database (Heroku Postgres, or a SQLite file locally), so that `chart`, `suggest`
//! and `replay` can look back further than Heroku's 1,500 log lines.
//!
//! History is a sink beside the scaler and must never slow it: [`HistoryHandle::record`] only
//! puts a row on a bounded queue (a full queue drops the row and counts it), and one writer task
//! turns the queue into batched transactions. A slow, full or unreachable database costs rows,
//! never time: the writer logs `event=history state=lost reason=... dropped=N` once per outage,
//! `event=history state=ok dropped=N` when writes work again, and retries with a capped,
//! jittered backoff. [`History::spawn`] returns a working handle at once and connects in the
//! background; its `startup` answer says within [`Options::startup_timeout`] when the database
//! is unreachable ([`Startup::Unreachable`]), so the daemon can alert `risky_start`, never wait.
//!
//! - [`rows`]: the row types the daemon hands over (pure).
//! - [`settings`]: `AUTOSCALE_HISTORY` and `AUTOSCALE_HISTORY_DAYS` (pure).
//! - [`batch`]: rows grouped per table and the SQL text, one text for both back ends (pure).
//! - [`outage`]: when to log lost and ok, and the reconnect backoff (pure).
//! - `store`: connections, schema, statements; `writer`: the writer task.
//!
//! Several shards may write one database: traffic minutes are upserts on (target, minute),
//! events are plain inserts, target ids are computed rather than allocated, and the schema is
//! applied under a lock. Retention deletes rows older than `AUTOSCALE_HISTORY_DAYS`, hourly, one
//! target and at most [`Options::prune_batch`] rows per statement, between batches.

pub mod batch;
pub mod import;
pub mod outage;
pub mod pack;
pub mod rows;
pub mod settings;
mod store;
mod writer;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

pub use rows::{
    AlertRow, HoldReason, HoldRow, Outcome, ProbeRow, ProbeSource, QueueRow, Row, ScaleRow,
    TrafficRow,
};
pub use settings::{resolve, HistorySetting, SettingError, Settings, StoreUrl};
pub use store::{StoreError, SCHEMA_VERSION};

use outage::Outage;
use store::{Access, Connect, Store};
use writer::{Control, Writer};

use crate::event::{Event, History as EventHistory, HistoryState};

/// The writer's knobs; [`Options::new`] gives the production values.
#[derive(Debug, Clone)]
pub struct Options {
    /// Rows older than this many days are deleted.
    pub retention_days: u32,
    /// Rows the queue holds before `record` starts dropping.
    pub queue_rows: usize,
    /// A batch is written when it has this many rows ...
    pub batch_rows: usize,
    /// ... or this long after its first row.
    pub batch_interval: Duration,
    /// Longest time `History::start` waits for the database.
    pub startup_timeout: Duration,
    /// Longest time for one connection, write or retention statement.
    pub op_timeout: Duration,
    /// SQLite: how long a statement waits for another connection's lock.
    pub busy_timeout: Duration,
    /// Reconnect backoff: first wait and cap (jittered).
    pub retry_min: Duration,
    pub retry_max: Duration,
    /// Time between retention rounds (the first runs at start).
    pub prune_interval: Duration,
    /// Most rows one retention statement deletes.
    pub prune_batch: usize,
}

impl Options {
    pub fn new(retention_days: u32) -> Options {
        Options {
            retention_days,
            queue_rows: 10_000,
            batch_rows: 1_000,
            batch_interval: Duration::from_secs(2),
            startup_timeout: Duration::from_secs(5),
            op_timeout: Duration::from_secs(10),
            busy_timeout: Duration::from_secs(2),
            retry_min: Duration::from_secs(1),
            retry_max: Duration::from_secs(60),
            prune_interval: Duration::from_secs(3600),
            prune_batch: 5_000,
        }
    }
}

/// How the store was found at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Startup {
    /// Connected, schema applied (the database's version; newer than ours is fine).
    Ready { schema_version: i64 },
    /// Not reachable in time: the handle works (rows are dropped and counted) and the writer
    /// keeps trying. `reason` is safe to print; the daemon alerts `risky_start` with it.
    Unreachable { reason: String },
}

/// A started history: the handle to record with, the writer task, and how the start went.
pub struct History {
    pub handle: HistoryHandle,
    pub task: JoinHandle<()>,
    pub startup: Startup,
}

/// Counters since start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Rows put on the queue.
    pub queued: u64,
    /// Rows written (a traffic minute recorded twice in one batch counts once).
    pub written: u64,
    /// Rows lost: queue full, database slow or unreachable, writer stopped.
    pub dropped: u64,
    /// Rows refused as invalid (a non-finite number, a missing name).
    pub invalid: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Shared {
    queued: AtomicU64,
    written: AtomicU64,
    dropped: AtomicU64,
    invalid: AtomicU64,
    /// Rows the full queue refused that the writer has not yet looked at.
    queue_full: AtomicU64,
}

/// Records rows for the writer; cheap to clone, never waits.
#[derive(Clone)]
pub struct HistoryHandle {
    rows: Option<mpsc::Sender<Row>>,
    control: Option<mpsc::Sender<Control>>,
    shared: Arc<Shared>,
}

/// A history whose writer connects in the background: the handle works at once (rows queue,
/// up to [`Options::queue_rows`], while it connects), and `startup` says how the connection went.
pub struct Spawned {
    pub handle: HistoryHandle,
    pub task: JoinHandle<()>,
    /// Answered once the first connection succeeded or failed (at most
    /// [`Options::startup_timeout`] after the spawn).
    pub startup: oneshot::Receiver<Startup>,
}

impl History {
    /// [`History::spawn`], waiting for the first connection (at most
    /// `options.startup_timeout`).
    pub async fn start(url: StoreUrl, options: Options) -> History {
        let spawned = History::spawn(url, options);
        let startup = spawned
            .startup
            .await
            .unwrap_or_else(|_| Startup::Unreachable {
                reason: "the history writer stopped before connecting".to_owned(),
            });
        History {
            handle: spawned.handle,
            task: spawned.task,
            startup,
        }
    }

    /// Spawns the writer, which opens the store (at most `options.startup_timeout`), applies the
    /// schema and writes. Never waits: a slow or unreachable database delays nothing. The
    /// writer logs `event=history state=ok` or, when the database cannot be reached,
    /// `event=history state=lost reason=...` (a warning) and keeps trying.
    pub fn spawn(url: StoreUrl, options: Options) -> Spawned {
        let (rows_tx, rows_rx) = mpsc::channel(options.queue_rows.max(1));
        let (control_tx, control_rx) = mpsc::channel(4);
        let (startup_tx, startup) = oneshot::channel();
        let shared = Arc::new(Shared::default());
        let task = tokio::spawn(connect_then_write(
            url,
            options,
            rows_rx,
            control_rx,
            shared.clone(),
            startup_tx,
        ));
        Spawned {
            handle: HistoryHandle {
                rows: Some(rows_tx),
                control: Some(control_tx),
                shared,
            },
            task,
            startup,
        }
    }
}

/// The writer task: the first connection (a close asked meanwhile is answered at once, the rows
/// queued so far dropped and counted), then [`Writer::run`].
async fn connect_then_write(
    url: StoreUrl,
    options: Options,
    mut rows: mpsc::Receiver<Row>,
    mut control: mpsc::Receiver<Control>,
    shared: Arc<Shared>,
    startup_tx: oneshot::Sender<Startup>,
) {
    let mut flushes = Vec::new();
    let mut handles_gone = false;
    let opened = {
        let opening = writer::open(&url, &options, options.startup_timeout);
        tokio::pin!(opening);
        loop {
            tokio::select! {
                opened = &mut opening => break opened,
                asked = control.recv(), if !handles_gone => match asked {
                    Some(Control::Flush(done)) => flushes.push(done),
                    Some(Control::Close { done, .. }) => {
                        rows.close();
                        let mut dropped = 0;
                        while rows.try_recv().is_ok() {
                            dropped += 1;
                        }
                        shared.dropped.fetch_add(dropped, Ordering::Relaxed);
                        let _ = startup_tx.send(Startup::Unreachable {
                            reason: "closed before the database answered".to_owned(),
                        });
                        let _ = done.send(());
                        return;
                    }
                    None => handles_gone = true,
                },
            }
        }
    };
    let mut outage = Outage::default();
    let (store, startup, retry_at) = match opened {
        Ok((store, schema_version)) => {
            Event::History(EventHistory {
                dropped: Some(0),
                store: Some(url.to_string()),
                schema_version: Some(schema_version),
                retention_days: Some(options.retention_days),
                ..EventHistory::new(HistoryState::Ok)
            })
            .emit(tracing::Level::INFO);
            (Some(store), Startup::Ready { schema_version }, None)
        }
        Err(e) => {
            outage.failed(e.kind, 0);
            // The database's error is the line's message.
            Event::History(EventHistory {
                reason: Some(e.kind.to_string()),
                dropped: Some(0),
                store: Some(url.to_string()),
                message: Some(e.message.to_string()),
                ..EventHistory::new(HistoryState::Lost)
            })
            .emit(tracing::Level::WARN);
            let retry = Instant::now() + options.retry_min;
            (
                None,
                Startup::Unreachable { reason: e.message },
                Some(retry),
            )
        }
    };
    let _ = startup_tx.send(startup);
    let writer = Writer {
        file: writer::FileId::of(&url),
        url,
        options,
        store,
        rows,
        control,
        shared,
        outage,
        retry_at,
    };
    writer.run(flushes).await;
}

impl std::fmt::Debug for HistoryHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HistoryHandle")
            .field("on", &self.rows.is_some())
            .field("stats", &self.stats())
            .finish()
    }
}

impl HistoryHandle {
    /// A handle that keeps nothing (history off): `record` returns `false` and counts nothing.
    pub fn off() -> HistoryHandle {
        HistoryHandle {
            rows: None,
            control: None,
            shared: Arc::new(Shared::default()),
        }
    }

    /// Queues a row; never waits. `false` when it was dropped (queue full, writer stopped,
    /// history off).
    pub fn record(&self, row: impl Into<Row>) -> bool {
        let Some(rows) = &self.rows else {
            return false;
        };
        match rows.try_send(row.into()) {
            Ok(()) => {
                self.shared.queued.fetch_add(1, Ordering::Relaxed);
                true
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.shared.queue_full.fetch_add(1, Ordering::Relaxed);
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                self.shared.dropped.fetch_add(1, Ordering::Relaxed);
                false
            }
        }
    }

    /// Counters since start.
    pub fn stats(&self) -> Stats {
        let s = &self.shared;
        Stats {
            queued: s.queued.load(Ordering::Relaxed),
            written: s.written.load(Ordering::Relaxed),
            dropped: s.dropped.load(Ordering::Relaxed) + s.queue_full.load(Ordering::Relaxed),
            invalid: s.invalid.load(Ordering::Relaxed),
        }
    }

    /// Writes everything queued so far (or drops it, counted, when the store is lost); waits
    /// at most `limit`. `false` when the writer did not answer in time or is gone.
    pub async fn flush(&self, limit: Duration) -> bool {
        let Some(control) = &self.control else {
            return true;
        };
        let (done, answered) = oneshot::channel();
        let asked = async {
            control.send(Control::Flush(done)).await.ok()?;
            answered.await.ok()
        };
        matches!(tokio::time::timeout(limit, asked).await, Ok(Some(())))
    }

    /// Shutdown: writes what is queued within `limit` (rows still unwritten then are dropped,
    /// counted) and stops the writer. Rows recorded afterwards are dropped. `false` when the
    /// writer did not finish in time.
    pub async fn close(&self, limit: Duration) -> bool {
        let Some(control) = &self.control else {
            return true;
        };
        let deadline = Instant::now() + limit;
        let (done, answered) = oneshot::channel();
        let asked = async {
            control.send(Control::Close { deadline, done }).await.ok()?;
            answered.await.ok()
        };
        matches!(tokio::time::timeout(limit, asked).await, Ok(Some(())))
    }
}

/// Rows of every kind, one list per table: what a read gives back (everything kept about one
/// target or app in a time range, each kind time-ordered) and what a write takes (see
/// [`HistoryData::batch`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HistoryData {
    pub traffic: Vec<TrafficRow>,
    pub queue: Vec<QueueRow>,
    pub probes: Vec<ProbeRow>,
    pub scales: Vec<ScaleRow>,
    pub holds: Vec<HoldRow>,
    pub alerts: Vec<AlertRow>,
}

impl HistoryData {
    pub fn len(&self) -> usize {
        self.traffic.len()
            + self.queue.len()
            + self.probes.len()
            + self.scales.len()
            + self.holds.len()
            + self.alerts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// All rows in one time-ordered list (at one instant: traffic, queue minutes, probes,
    /// scales, holds, alerts).
    pub fn into_rows(self) -> Vec<Row> {
        let mut rows: Vec<Row> = self
            .traffic
            .into_iter()
            .map(Row::Traffic)
            .chain(self.queue.into_iter().map(Row::Queue))
            .chain(self.probes.into_iter().map(Row::Probe))
            .chain(self.scales.into_iter().map(Row::Scale))
            .chain(self.holds.into_iter().map(Row::Hold))
            .chain(self.alerts.into_iter().map(Row::Alert))
            .collect();
        rows.sort_by_key(Row::at);
        rows
    }
}

/// The store as `autoscale check` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreStatus {
    /// The store, safe to print.
    pub store: String,
    pub reachable: bool,
    /// Why it is not reachable or not readable (safe to print).
    pub error: Option<String>,
    /// The database's schema version (`None`: no history tables yet).
    pub schema_version: Option<i64>,
    /// Rows per table.
    pub rows: Vec<(&'static str, u64)>,
    /// The oldest instant kept.
    pub oldest: Option<DateTime<Utc>>,
    /// Space the history takes (Postgres: its tables and indexes; SQLite: the file).
    pub size_bytes: Option<u64>,
}

/// Longest wait for a reader's connection.
const READ_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Most rows of one kind a read returns (a month of minutes for 20 process types).
pub const MAX_READ_ROWS: usize = 1_000_000;

/// Reads all five kinds for `app` (one `process`, or every one) in `[since, until)`. Never
/// creates or changes anything (a missing SQLite file is an error).
pub async fn read(
    url: &StoreUrl,
    app: &str,
    process: Option<&str>,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<HistoryData, StoreError> {
    let store = open_for_reading(url).await?;
    let result = async {
        store.schema_version().await?;
        store.read(app, process, since, until, MAX_READ_ROWS).await
    }
    .await;
    store.close().await;
    result
}

/// Most targets [`targets`] lists (as many as a chart tells apart).
pub const MAX_TARGETS: usize = 1024;

/// Every target the store has rows of, (app, process), sorted; at most [`MAX_TARGETS`]. Never
/// creates or changes anything.
pub async fn targets(url: &StoreUrl) -> Result<Vec<(String, String)>, StoreError> {
    let store = open_for_reading(url).await?;
    let result = async {
        store.schema_version().await?;
        store.targets(MAX_TARGETS).await
    }
    .await;
    store.close().await;
    result
}

/// A reader that stays connected (the dashboard): connects on first use, and again after a
/// failure (a database restarted or a credential rotated); every call bounded by
/// [`READ_CONNECT_TIMEOUT`] for the connection and [`READ_TIMEOUT`] for the query. Never
/// creates or changes anything.
pub struct Reading {
    url: StoreUrl,
    store: tokio::sync::Mutex<Option<Arc<Store>>>,
}

/// Longest wait for one read of a [`Reading`].
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);

impl Reading {
    pub fn new(url: StoreUrl) -> Reading {
        Reading {
            url,
            store: tokio::sync::Mutex::new(None),
        }
    }

    pub fn url(&self) -> &StoreUrl {
        &self.url
    }

    async fn store(&self) -> Result<Arc<Store>, StoreError> {
        let mut slot = self.store.lock().await;
        if let Some(store) = slot.as_ref() {
            return Ok(store.clone());
        }
        let store = open_for_reading(&self.url).await?;
        // The schema is checked once a connection is made, not at every read (the index reads
        // every target's day: a round trip each saved).
        if let Err(e) = store.schema_version().await {
            store.close().await;
            return Err(e);
        }
        let store = Arc::new(store);
        *slot = Some(store.clone());
        Ok(store)
    }

    /// Waits for `work` at most [`READ_TIMEOUT`]; on a failure the connection is dropped, to
    /// be made again by the next call.
    async fn bounded<T>(
        &self,
        store: &Arc<Store>,
        work: impl std::future::Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let result = match tokio::time::timeout(READ_TIMEOUT, work).await {
            Ok(result) => result,
            Err(_) => Err(StoreError {
                kind: "timeout",
                message: format!("{}: no answer within 10s", self.url),
            }),
        };
        if result.is_err() {
            let mut slot = self.store.lock().await;
            if slot.as_ref().is_some_and(|s| Arc::ptr_eq(s, store)) {
                *slot = None;
            }
            drop(slot);
            store.close().await;
        }
        result
    }

    /// Whether the history answers (its schema version).
    pub async fn ping(&self) -> Result<i64, StoreError> {
        let store = self.store().await?;
        self.bounded(&store, store.schema_version()).await
    }

    /// As [`read`].
    pub async fn read(
        &self,
        app: &str,
        process: Option<&str>,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<HistoryData, StoreError> {
        let store = self.store().await?;
        let work = store.read(app, process, since, until, MAX_READ_ROWS);
        self.bounded(&store, work).await
    }

    /// As [`targets`].
    pub async fn targets(&self) -> Result<Vec<(String, String)>, StoreError> {
        let store = self.store().await?;
        let work = store.targets(MAX_TARGETS);
        self.bounded(&store, work).await
    }
}

/// Converts a schema 1 history (a row per traffic minute and probe) to packed hours in place,
/// `batch` rows a transaction, as the daemon's writer does between its batches; returns the
/// transactions it took. Creates the schema when missing.
pub async fn convert(url: &StoreUrl, batch: usize) -> Result<u64, StoreError> {
    let options = Options::new(settings::DEFAULT_DAYS);
    let (store, _) = writer::open(url, &options, READ_CONNECT_TIMEOUT).await?;
    let mut steps = 0;
    let result = loop {
        match store.convert_step(batch.max(1)).await {
            Ok(true) => steps += 1,
            Ok(false) => break Ok(steps),
            Err(e) => break Err(e),
        }
    };
    store.close().await;
    result
}

/// Writes `data` into `url` as schema 1 (a build before issue "Lean") wrote it, creating that
/// schema in an empty database: the starting point of the migration's tests and measurements.
#[doc(hidden)]
pub async fn write_schema1(url: &StoreUrl, data: &HistoryData) -> Result<(), StoreError> {
    let connect = Connect {
        access: Access::Write,
        acquire_timeout: READ_CONNECT_TIMEOUT,
        busy_timeout: Duration::from_secs(5),
    };
    let store = Store::open(url, connect).await?;
    let result = store.write_schema1(data).await;
    store.close().await;
    result
}

/// The store's state for `autoscale check`; never fails (an unreachable store says so).
pub async fn status(url: &StoreUrl) -> StoreStatus {
    let mut status = StoreStatus {
        store: url.to_string(),
        reachable: false,
        error: None,
        schema_version: None,
        rows: Vec::new(),
        oldest: None,
        size_bytes: None,
    };
    let store = match open_for_reading(url).await {
        Ok(store) => store,
        Err(e) => {
            status.error = Some(e.message);
            return status;
        }
    };
    status.reachable = true;
    match store.counts().await {
        Ok(counts) => {
            status.schema_version = counts.schema_version;
            status.rows = counts.rows;
            status.oldest = counts.oldest;
            status.size_bytes = counts.size_bytes;
        }
        Err(e) => status.error = Some(e.message),
    }
    store.close().await;
    status
}

async fn open_for_reading(url: &StoreUrl) -> Result<Store, StoreError> {
    let connect = Connect {
        access: Access::Read,
        acquire_timeout: READ_CONNECT_TIMEOUT,
        busy_timeout: Duration::from_secs(5),
    };
    match tokio::time::timeout(READ_CONNECT_TIMEOUT, Store::open(url, connect)).await {
        Ok(result) => result,
        Err(_) => Err(StoreError {
            kind: "timeout",
            message: format!("{url}: no connection within 10s"),
        }),
    }
}
