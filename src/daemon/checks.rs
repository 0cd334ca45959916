//! Measure, for many targets: every target's check runs at its own phase of the interval (so a
//! thousand targets do not fire in one burst), at most `AUTOSCALE_CHECK_CONCURRENCY` in flight,
//! each bounded by its timeout (so a hanging app never delays another target's check). A
//! target's checks never overlap: a long one delays its next. Results go to the app's loop,
//! which merges them; nothing queues.

use crate::event::Event;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Level;

use crate::config::{CheckUrl, Target};
use crate::daemon::app::AppHandle;
use crate::heroku::{ApiError, Client};
use crate::probe::Prober;

/// How a target is checked.
#[derive(Debug, Clone)]
pub enum CheckPlan {
    Off,
    /// The app's web_url is not known yet (the API failed at startup): asked again each slot.
    Pending,
    Ready(Prober),
}

impl CheckPlan {
    /// The plan before the app was read: a configured URL (or `off`) stands; only the default,
    /// the app's web_url, has to wait.
    pub fn without_app(target: &Target, http: &reqwest::Client) -> CheckPlan {
        match &target.check.url {
            CheckUrl::Off => CheckPlan::Off,
            CheckUrl::Url(url) => CheckPlan::Ready(Prober::for_settings(
                http.clone(),
                url.clone(),
                &target.check,
            )),
            CheckUrl::FromApp => CheckPlan::Pending,
        }
    }

    /// The plan once the app's web_url is known: null, unparsable or not http(s) turn checks
    /// off with a warning (never `https://APP.herokuapp.com` guessed).
    pub fn from_web_url(
        target: &Target,
        web_url: Option<&str>,
        http: &reqwest::Client,
    ) -> CheckPlan {
        if target.check.url != CheckUrl::FromApp {
            return CheckPlan::without_app(target, http);
        }
        let (reason, message) = match crate::probe::web_url_check(web_url) {
            Ok(url) => {
                return CheckPlan::Ready(Prober::for_settings(http.clone(), url, &target.check))
            }
            Err(bad) => (bad.reason(), bad.to_string()),
        };
        Event::ChecksOff {
            app: target.app.clone(),
            process: target.process.clone(),
            reason: reason.to_owned(),
            message,
        }
        .emit(Level::WARN);
        CheckPlan::Off
    }

    /// What the start line shows.
    pub fn describe(&self, target: &Target) -> String {
        match self {
            CheckPlan::Off => "off".to_owned(),
            CheckPlan::Pending => target.check.url.to_string(),
            CheckPlan::Ready(p) => crate::http::redact_url(p.url()),
        }
    }
}

/// One target's checks.
pub struct CheckTask {
    pub target: Target,
    /// The target's position in its app's loop.
    pub index: usize,
    pub plan: CheckPlan,
    pub app: AppHandle,
    /// When in each interval this target is checked.
    pub phase: Duration,
}

/// The phase of target `k` of `n`: spread evenly over its interval.
pub fn phase(k: usize, n: usize, interval: Duration) -> Duration {
    if n == 0 {
        return Duration::ZERO;
    }
    interval.mul_f64(k as f64 / n as f64)
}

impl CheckTask {
    /// Checks until `cancel`. `client` resolves a pending web_url; `permits` bounds the checks
    /// in flight across all targets.
    pub async fn run(
        mut self,
        client: Client,
        http: reqwest::Client,
        permits: Arc<Semaphore>,
        cancel: CancellationToken,
    ) {
        let interval = self.target.check.interval;
        let mut slot = Instant::now() + self.phase;
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep_until(slot) => {}
            }
            let permit = tokio::select! {
                _ = cancel.cancelled() => return,
                p = permits.clone().acquire_owned() => match p {
                    Ok(p) => p,
                    Err(_) => return,
                },
            };
            let late = Instant::now().saturating_duration_since(slot);
            if matches!(self.plan, CheckPlan::Pending) {
                match client.app(&self.target.app).await {
                    Ok(app) => {
                        self.plan =
                            CheckPlan::from_web_url(&self.target, app.web_url.as_deref(), &http);
                        if matches!(self.plan, CheckPlan::Off) {
                            self.app.checks_off(self.index);
                            return;
                        }
                    }
                    Err(e) => log_app_error(&e),
                }
            }
            if let CheckPlan::Ready(prober) = &self.plan {
                let probe = tokio::select! {
                    _ = cancel.cancelled() => return,
                    p = prober.probe() => p,
                };
                self.app.check(self.index, probe, late.as_millis() as u64);
            }
            drop(permit);
            // Never overlapping: a check longer than the interval delays the next one.
            slot = (slot + interval).max(Instant::now());
        }
    }
}

fn log_app_error(e: &ApiError) {
    e.log(if e.is_cancelled() {
        Level::INFO
    } else {
        Level::ERROR
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_spread_targets_evenly_over_the_interval() {
        let i = Duration::from_secs(180);
        assert_eq!(phase(0, 1000, i), Duration::ZERO);
        assert_eq!(phase(500, 1000, i), Duration::from_secs(90));
        assert_eq!(phase(999, 1000, i), Duration::from_millis(179_820));
        assert_eq!(phase(0, 0, i), Duration::ZERO);
    }
}
