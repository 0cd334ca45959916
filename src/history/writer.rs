//! The one writer task: takes rows from the bounded queue, writes them in batches, prunes old
//! rows between batches, and rides out a slow or absent database by dropping (and counting)
//! rather than waiting. Nothing here can make [`super::HistoryHandle::record`] wait.

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::time::{sleep_until, timeout, Instant};

use super::batch::{retention_cutoff, Table, TABLES};
use super::outage::{backoff, Outage, Transition};
use super::rows::Row;
use super::settings::StoreUrl;
use super::store::{Access, Connect, Store, StoreError};
use super::{HistoryData, Options, Shared};
use crate::event::{Event, History, HistoryState};

/// What the handle asks of the writer besides rows.
pub(crate) enum Control {
    /// Write everything queued so far, then answer.
    Flush(oneshot::Sender<()>),
    /// Write everything queued by `deadline` at the latest, then stop.
    Close {
        deadline: Instant,
        done: oneshot::Sender<()>,
    },
}

/// Retention work in progress: first schema 1's rows still to convert (see
/// [`Store::convert_step`]), then (table, target) pairs still to visit.
struct Prune {
    convert: bool,
    cutoff_ms: i64,
    todo: VecDeque<(Table, i64)>,
}

pub(crate) struct Writer {
    pub url: StoreUrl,
    pub options: Options,
    pub store: Option<Store>,
    pub rows: mpsc::Receiver<Row>,
    pub control: mpsc::Receiver<Control>,
    pub shared: Arc<Shared>,
    pub outage: Outage,
    /// While lost: rows are dropped until then, and the next attempt waits for it.
    pub retry_at: Option<Instant>,
    /// A SQLite store's file as it was opened (see [`FileId`]).
    pub file: Option<FileId>,
}

/// Which file a SQLite path names: its device and inode (on Unix; elsewhere only that it
/// exists). A file deleted or replaced while open keeps taking writes into the deleted inode,
/// which nothing will ever read: the writer compares before each batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    /// The file `url` names now; `None` for Postgres or a missing file.
    pub(crate) fn of(url: &StoreUrl) -> Option<FileId> {
        let StoreUrl::Sqlite(path) = url else {
            return None;
        };
        let meta = std::fs::metadata(path).ok()?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt as _;
            Some(FileId {
                dev: meta.dev(),
                ino: meta.ino(),
            })
        }
        #[cfg(not(unix))]
        {
            let _ = meta;
            Some(FileId { dev: 0, ino: 0 })
        }
    }
}

impl Writer {
    /// Writes until closed; `flushes` were asked while the first connection was being made
    /// (answered once what was queued by then is written).
    pub(crate) async fn run(mut self, flushes: Vec<oneshot::Sender<()>>) {
        let mut pending: Vec<Row> = Vec::new();
        let mut flush_at: Option<Instant> = None;
        let mut known: HashSet<i64> = HashSet::new();
        if !flushes.is_empty() {
            self.drain(&mut pending);
            self.write(&mut pending, &mut known, None).await;
            for done in flushes {
                let _ = done.send(());
            }
        }
        let mut prune: Option<Prune> = None;
        let mut next_prune = Instant::now();
        loop {
            let reopen_at = if self.store.is_none() {
                self.retry_at
            } else {
                None
            };
            tokio::select! {
                biased;
                control = self.control.recv() => match control {
                    Some(Control::Flush(done)) => {
                        self.drain(&mut pending);
                        self.write(&mut pending, &mut known, None).await;
                        flush_at = None;
                        let _ = done.send(());
                    }
                    Some(Control::Close { deadline, done }) => {
                        self.rows.close();
                        self.drain(&mut pending);
                        self.write(&mut pending, &mut known, Some(deadline)).await;
                        if let Some(store) = self.store.take() {
                            let _ = timeout(deadline.saturating_duration_since(Instant::now()), store.close()).await;
                        }
                        let _ = done.send(());
                        return;
                    }
                    // Every handle is gone: nothing more can come.
                    None => {
                        self.drain(&mut pending);
                        self.write(&mut pending, &mut known, None).await;
                        return;
                    }
                },
                row = self.rows.recv(), if pending.len() < self.options.batch_rows => match row {
                    Some(row) => {
                        self.take(row, &mut pending);
                        if flush_at.is_none() && !pending.is_empty() {
                            flush_at = Some(Instant::now() + self.options.batch_interval);
                        }
                    }
                    None => {
                        self.write(&mut pending, &mut known, None).await;
                        return;
                    }
                },
                _ = sleep_until(flush_at.unwrap_or_else(far_future)), if flush_at.is_some() => {
                    self.write(&mut pending, &mut known, None).await;
                    flush_at = None;
                }
                _ = sleep_until(reopen_at.unwrap_or_else(far_future)), if reopen_at.is_some() => {
                    self.reopen().await;
                }
                _ = sleep_until(next_prune), if prune.is_none() => {
                    next_prune = Instant::now() + self.options.prune_interval;
                    prune = self.start_prune().await;
                }
                _ = std::future::ready(()), if prune.is_some() && !self.outage.is_lost() => {
                    if let Some(job) = &mut prune {
                        if !self.prune_step(job).await || (!job.convert && job.todo.is_empty()) {
                            prune = None;
                        }
                    }
                }
            }
            if pending.len() >= self.options.batch_rows {
                self.write(&mut pending, &mut known, None).await;
                flush_at = None;
            }
        }
    }

    /// Takes every row queued right now.
    fn drain(&mut self, pending: &mut Vec<Row>) {
        while let Ok(row) = self.rows.try_recv() {
            self.take(row, pending);
        }
    }

    /// A row from the queue: kept for the next batch, or dropped while the store is lost and
    /// not yet due for another try.
    fn take(&mut self, row: Row, pending: &mut Vec<Row>) {
        if self.outage.is_lost() && self.retry_at.is_some_and(|at| Instant::now() < at) {
            self.drop_rows(1);
        } else {
            pending.push(row);
        }
    }

    fn drop_rows(&mut self, rows: u64) {
        self.shared.dropped.fetch_add(rows, Ordering::Relaxed);
        self.outage.dropped(rows);
    }

    /// Writes `pending` (emptying it), opening the store first when needed; every failure drops
    /// the rows and counts them. `deadline` (at close) shortens the usual time limit.
    async fn write(
        &mut self,
        pending: &mut Vec<Row>,
        known: &mut HashSet<i64>,
        deadline: Option<Instant>,
    ) {
        // Rows the queue refused since the last look: the writer is not keeping up.
        let refused = self.shared.queue_full.swap(0, Ordering::Relaxed);
        if refused > 0 {
            self.fail(
                "queue_full",
                "the queue was full: rows were dropped",
                refused,
            );
        }
        if pending.is_empty() {
            return;
        }
        let mut rows = Vec::with_capacity(pending.len());
        for row in pending.drain(..) {
            match row.normalized() {
                Ok(row) => rows.push(row),
                Err(_) => {
                    self.shared.invalid.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        let mut batch = HistoryData::batch(rows);
        if batch.is_empty() {
            return;
        }
        let limit = match deadline {
            Some(at) => at
                .saturating_duration_since(Instant::now())
                .min(self.options.op_timeout),
            None => self.options.op_timeout,
        };
        if self.outage.is_lost() && self.retry_at.is_some_and(|at| Instant::now() < at) {
            self.drop_rows(batch.len() as u64);
            return;
        }
        if self.check_file(limit).await {
            // A new file knows no target yet.
            known.clear();
        }
        if self.store.is_none() && !self.open(limit).await {
            self.drop_rows(batch.len() as u64);
            return;
        }
        let Some(store) = &self.store else { return };
        let began = Instant::now();
        match timeout(limit, store.write(&mut batch, known)).await {
            Ok(Ok(written)) => {
                Event::HistoryBatch {
                    rows: written.rows,
                    ms: began.elapsed().as_millis() as u64,
                }
                .emit(tracing::Level::DEBUG);
                self.shared
                    .written
                    .fetch_add(written.rows, Ordering::Relaxed);
                known.extend(written.registered);
                if written.refused_rows > 0 {
                    self.shared
                        .dropped
                        .fetch_add(written.refused_rows, Ordering::Relaxed);
                    for (id, app, process) in &written.refused {
                        Event::History(History {
                            target_id: Some(*id),
                            stored_app: Some(app.to_string()),
                            stored_process: Some(process.to_string()),
                            message: Some(
                                "a target's id is taken by another target: its rows are not kept"
                                    .to_owned(),
                            ),
                            ..History::new(HistoryState::Refused)
                        })
                        .emit(tracing::Level::ERROR);
                    }
                }
                self.succeeded();
            }
            Ok(Err(e)) => self.fail(e.kind, &e.message, batch.len() as u64),
            Err(_) => self.fail(
                "timeout",
                &format!("no answer within {}", humantime::format_duration(limit)),
                batch.len() as u64,
            ),
        }
    }

    /// A SQLite file deleted or replaced while open: said (`state=lost reason=file_gone`), the
    /// old connection closed, and the file opened again at once (created with its schema), so
    /// that the batch about to be written, and every later one, lands in a file that exists;
    /// `state=ok` follows when that works. What the deleted file held is gone with it. `true`
    /// when the file was gone.
    async fn check_file(&mut self, limit: Duration) -> bool {
        if self.store.is_none() || self.file.is_none() || FileId::of(&self.url) == self.file {
            return false;
        }
        if let Some(store) = self.store.take() {
            let _ = timeout(limit, store.close()).await;
        }
        self.file = None;
        self.fail(
            "file_gone",
            "the SQLite file was deleted or replaced while in use: a new one is created",
            0,
        );
        self.retry_at = None;
        true
    }

    /// Connects and applies the schema within `limit`.
    async fn open(&mut self, limit: Duration) -> bool {
        match open(&self.url, &self.options, limit).await {
            Ok((store, _version)) => {
                self.store = Some(store);
                self.file = FileId::of(&self.url);
                true
            }
            Err(e) => {
                self.fail(e.kind, &e.message, 0);
                false
            }
        }
    }

    /// A timed reconnect while there is no store (a start with the database unreachable).
    async fn reopen(&mut self) {
        if self.open(self.options.op_timeout).await {
            self.succeeded();
        }
    }

    /// A failure that dropped `dropped` rows (not yet counted in the totals).
    fn fail(&mut self, reason: &str, message: &str, dropped: u64) {
        self.shared.dropped.fetch_add(dropped, Ordering::Relaxed);
        if let Some(Transition::Lost { reason, dropped }) = self.outage.failed(reason, dropped) {
            Event::History(History {
                reason: Some(reason.to_string()),
                dropped: Some(dropped),
                store: Some(self.url.to_string()),
                message: Some(message.to_string()),
                ..History::new(HistoryState::Lost)
            })
            .emit(tracing::Level::WARN);
        } else if reason != "queue_full" {
            self.outage.retry_failed();
        }
        if reason != "queue_full" {
            let wait = backoff(
                self.outage.attempts(),
                self.options.retry_min,
                self.options.retry_max,
                fastrand::f64(),
            );
            self.retry_at = Some(Instant::now() + wait);
        }
    }

    fn succeeded(&mut self) {
        self.retry_at = None;
        if let Some(Transition::Ok { dropped }) = self.outage.succeeded() {
            Event::History(History {
                dropped: Some(dropped),
                store: Some(self.url.to_string()),
                ..History::new(HistoryState::Ok)
            })
            .emit(tracing::Level::INFO);
        }
    }

    async fn start_prune(&mut self) -> Option<Prune> {
        let store = self.store.as_ref()?;
        if self.outage.is_lost() {
            return None;
        }
        let cutoff_ms = retention_cutoff(
            chrono::Utc::now().timestamp_millis(),
            self.options.retention_days,
        );
        match timeout(self.options.op_timeout, store.target_ids()).await {
            Ok(Ok(ids)) => {
                let todo: VecDeque<(Table, i64)> = TABLES
                    .iter()
                    .flat_map(|t| ids.iter().map(move |id| (*t, *id)))
                    .collect();
                Some(Prune {
                    convert: true,
                    cutoff_ms,
                    todo,
                })
            }
            Ok(Err(e)) => {
                self.fail(e.kind, &e.message, 0);
                None
            }
            Err(_) => {
                self.fail("timeout", "listing targets to prune timed out", 0);
                None
            }
        }
    }

    /// One retention statement; `false` abandons this round (the next comes an interval later).
    async fn prune_step(&mut self, job: &mut Prune) -> bool {
        let Some(store) = &self.store else {
            return false;
        };
        if job.convert {
            return match timeout(
                self.options.op_timeout,
                store.convert_step(self.options.prune_batch),
            )
            .await
            {
                Ok(Ok(more)) => {
                    job.convert = more;
                    true
                }
                Ok(Err(e)) => {
                    self.fail(e.kind, &e.message, 0);
                    false
                }
                Err(_) => {
                    self.fail("timeout", "converting schema 1's rows timed out", 0);
                    false
                }
            };
        }
        let Some((table, target)) = job.todo.front().copied() else {
            return false;
        };
        let step = store.prune_step(&table, target, job.cutoff_ms, self.options.prune_batch);
        match timeout(self.options.op_timeout, step).await {
            Ok(Ok(more)) => {
                if !more {
                    job.todo.pop_front();
                }
                true
            }
            Ok(Err(e)) => {
                self.fail(e.kind, &e.message, 0);
                false
            }
            Err(_) => {
                self.fail("timeout", "a retention delete timed out", 0);
                false
            }
        }
    }
}

/// Opens a store for writing and applies the schema, all within `limit`. SQLite has no
/// advisory lock: a second process applying the schema at the same instant may fail once on
/// the version record after waiting for the first, so one failed attempt is repeated.
pub(crate) async fn open(
    url: &StoreUrl,
    options: &Options,
    limit: Duration,
) -> Result<(Store, i64), StoreError> {
    let attempt = async {
        let store = Store::open(
            url,
            Connect {
                access: Access::Write,
                acquire_timeout: limit,
                busy_timeout: options.busy_timeout,
            },
        )
        .await?;
        let version = match store.migrate().await {
            Ok(version) => version,
            Err(_) => store.migrate().await?,
        };
        Ok::<_, StoreError>((store, version))
    };
    match timeout(limit, attempt).await {
        Ok(result) => result,
        Err(_) => Err(StoreError {
            kind: "timeout",
            message: format!("no connection within {}", humantime::format_duration(limit)),
        }),
    }
}

fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86_400 * 365)
}
