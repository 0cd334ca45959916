//! Observe: the app's formation list, cached by ETag and re-read when the budget allows and
//! before any PATCH; the latest release, read only when a check looks wrong; targets whose app or
//! process does not exist are disabled.

use super::*;
use crate::event::Event;

/// The formation list as last read.
#[derive(Debug)]
pub(super) struct Cache {
    pub(super) list: Vec<Formation>,
    pub(super) etag: Option<String>,
    pub(super) read_at: Instant,
    pub(super) reads_since_plain: u32,
}

/// The latest release, cached by ETag.
#[derive(Debug)]
pub(super) struct ReleaseCache {
    pub(super) latest: Option<Release>,
    pub(super) etag: Option<String>,
}

impl AppLoop {
    /// Reads the formation list (with the ETag unless `plain`). Errors are logged and told:
    /// 403/404 disable the app's targets; others keep the cache for the next round.
    pub(super) async fn read(&mut self, plain: bool) -> Result<(), ApiError> {
        let plain = plain
            || self
                .cache
                .as_ref()
                .is_none_or(|c| c.reads_since_plain + 1 >= PLAIN_READ_EVERY);
        let etag = if plain {
            None
        } else {
            self.cache.as_ref().and_then(|c| c.etag.clone())
        };
        match self.client.formations(&self.app, etag.as_deref()).await {
            Ok(Listing::Fresh { list, etag }) => {
                let reads = if plain {
                    0
                } else {
                    self.cache.as_ref().map_or(0, |c| c.reads_since_plain + 1)
                };
                self.cache = Some(Cache {
                    list,
                    etag,
                    read_at: Instant::now(),
                    reads_since_plain: reads,
                });
                Ok(())
            }
            Ok(Listing::NotModified) => {
                if let Some(c) = self.cache.as_mut() {
                    c.read_at = Instant::now();
                    c.reads_since_plain += 1;
                }
                Ok(())
            }
            Err(e) => {
                if matches!(e.status(), Some(403 | 404)) {
                    self.disable_all(&e);
                } else if e.is_cancelled() {
                    e.log(Level::INFO);
                } else {
                    e.log(Level::ERROR);
                    for i in 0..self.targets.len() {
                        self.api_failed(i, &e);
                    }
                }
                Err(e)
            }
        }
    }

    pub(super) fn disable(&mut self, index: usize, status: Option<u16>, message: &str) {
        let t = &mut self.targets[index];
        if t.disabled.is_some() {
            return;
        }
        t.disabled = Some(message.to_owned());
        let (app, process) = (t.target.app.clone(), t.target.process.clone());
        Event::TargetDisabled {
            app: app.clone(),
            process: process.clone(),
            status: status.map(|s| s.to_string()).unwrap_or_default(),
            message: message.to_owned(),
        }
        .emit(Level::ERROR);
        self.notifier.notify(Notice {
            status: status.map(|s| s.to_string()).unwrap_or_default(),
            message: format!(
                "{message} — autoscale stopped scaling {app} {process}; check AUTOSCALE_APP / the target's app and process"
            ),
            ..Notice::new(Kind::ApiFailed, &app, &process)
        });
    }

    /// Nothing can be scaled (the read failed after retries): logged, and a human is told.
    pub(super) fn api_failed(&self, index: usize, e: &ApiError) {
        let t = &self.targets[index];
        if t.disabled.is_some() {
            return;
        }
        self.notifier.notify(Notice {
            status: e.status().map(|s| s.to_string()).unwrap_or_default(),
            message: e.message().to_owned(),
            dry_run: t.target.dry_run,
            ..Notice::new(Kind::ApiFailed, &t.target.app, &t.target.process)
        });
    }

    pub(super) fn formation(&self, process: &str) -> Option<&Formation> {
        self.cache
            .as_ref()?
            .list
            .iter()
            .find(|f| f.process == process)
    }

    /// The app's latest release, asked only when a check looks wrong (ETag-cached, so asking
    /// again costs a 304). A failure keeps what was known: it never blocks a scale-out.
    pub(super) async fn read_release(&mut self) {
        let etag = self.release.as_ref().and_then(|r| r.etag.clone());
        match self.client.latest_release(&self.app, etag.as_deref()).await {
            Ok(Listing::Fresh { list, etag }) => {
                self.release = Some(ReleaseCache {
                    latest: list.into_iter().next(),
                    etag,
                });
            }
            Ok(Listing::NotModified) => {}
            Err(e) => e.log(if e.is_cancelled() {
                Level::INFO
            } else {
                Level::WARN
            }),
        }
    }

    pub(super) fn update_cache(&mut self, formation: Formation) {
        if let Some(c) = self.cache.as_mut() {
            match c.list.iter_mut().find(|f| f.process == formation.process) {
                Some(f) => *f = formation,
                None => c.list.push(formation),
            }
            // The list changed: the old ETag no longer describes it.
            c.etag = None;
        }
    }
}
