//! Measure: request the app once and classify the answer as down, slow, ok or fast.
//!
//! The tutorial this grew from had no timeout (a hanging app hung the fail-safe) and compared only
//! the sub-second part of the latency (slow never fired). Here the whole answer, body included,
//! is timed as a `Duration`, and the timeout bounds all of it.

use std::fmt;
use std::time::{Duration, Instant};

use url::Url;

use crate::http::{error_chain, transport_kind, USER_AGENT};

/// How much of an answer's body is read.
pub const BODY_CAP: usize = 1 << 20;

/// The class of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Non-2xx, refused, DNS, TLS, reset or timeout.
    Down,
    /// Answered 2xx, slower than AUTOSCALE_SLOW.
    Slow,
    /// Answered 2xx, between fast and slow.
    Ok,
    /// Answered 2xx, faster than AUTOSCALE_FAST.
    Fast,
}

impl Outcome {
    pub fn is_unhealthy(self) -> bool {
        matches!(self, Outcome::Down | Outcome::Slow)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Down => "down",
            Outcome::Slow => "slow",
            Outcome::Ok => "ok",
            Outcome::Fast => "fast",
        }
    }
}

impl std::str::FromStr for Outcome {
    type Err = ();
    fn from_str(s: &str) -> Result<Outcome, ()> {
        [Outcome::Down, Outcome::Slow, Outcome::Ok, Outcome::Fast]
            .into_iter()
            .find(|o| o.as_str() == s)
            .ok_or(())
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one check saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub outcome: Outcome,
    /// HTTP status, when an answer came.
    pub status: Option<u16>,
    pub latency: Duration,
    /// Why it is down (`HTTP 500`, `timeout after 10s`, `connect: ... refused`), or empty.
    pub error: String,
}

impl Probe {
    pub fn latency_ms(&self) -> u128 {
        self.latency.as_millis()
    }
}

/// Where the health check goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckUrl {
    /// AUTOSCALE_CHECK_URL=off (the default for processes other than web).
    Off,
    /// Not set: use the app's `web_url` from the API (checks are off with a warning if it is null).
    FromApp,
    Url(Url),
}

impl fmt::Display for CheckUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckUrl::Off => f.write_str("off"),
            CheckUrl::FromApp => f.write_str("web_url"),
            CheckUrl::Url(url) => f.write_str(&crate::http::redact_url(url)),
        }
    }
}

/// How the app is checked and what the answers mean.
#[derive(Debug, Clone)]
pub struct CheckSettings {
    pub url: CheckUrl,
    pub interval: Duration,
    pub timeout: Duration,
    pub slow: Duration,
    /// None when AUTOSCALE_FAST=off (no scale-in).
    pub fast: Option<Duration>,
}

/// Why an app's `web_url` (from `GET /apps/{app}`) cannot be checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BadWebUrl {
    /// Null: the app has no web URL (Heroku gives none, e.g. for an app without a web process).
    Missing,
    /// Not a URL.
    NotAUrl(String),
    /// A URL, but not one a check can GET (not http(s), or no host).
    Scheme(String),
}

impl BadWebUrl {
    /// The `reason=` of the `checks_off` line.
    pub fn reason(&self) -> &'static str {
        match self {
            BadWebUrl::Missing => "no_web_url",
            BadWebUrl::NotAUrl(_) | BadWebUrl::Scheme(_) => "bad_web_url",
        }
    }
}

impl fmt::Display for BadWebUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BadWebUrl::Missing => f.write_str("the app has no web_url"),
            BadWebUrl::NotAUrl(e) => write!(f, "the app's web_url is not a URL ({e})"),
            BadWebUrl::Scheme(s) => write!(f, "the app's web_url has scheme {s:?}, not http(s)"),
        }
    }
}

/// The URL a [`CheckUrl::FromApp`] target checks, from the app's `web_url`: an http(s) URL with
/// a host, else why not. The one rule the daemon and `check` both follow; nothing is ever
/// guessed (no `https://APP.herokuapp.com`: new apps have random-suffix domains).
pub fn web_url_check(web_url: Option<&str>) -> Result<Url, BadWebUrl> {
    match web_url.map(Url::parse) {
        Some(Ok(url)) if matches!(url.scheme(), "http" | "https") && url.has_host() => Ok(url),
        Some(Ok(url)) => Err(BadWebUrl::Scheme(url.scheme().to_owned())),
        Some(Err(e)) => Err(BadWebUrl::NotAUrl(e.to_string())),
        None => Err(BadWebUrl::Missing),
    }
}

/// The client every check shares: one connection pool and TLS setup for a thousand targets, not
/// one each. It keeps no idle connection: each check opens a fresh one, as a new visitor would,
/// so a dead listener or a broken TLS setup shows up and a hung connection is never reused. Each
/// request carries its own target's timeout.
pub fn shared_client() -> reqwest::Client {
    crate::http::build(
        crate::http::builder(
            &format!("{USER_AGENT} (health check)"),
            MAX_TIMEOUT,
            MAX_TIMEOUT,
        )
        .pool_max_idle_per_host(0),
    )
}

/// No check waits longer than this, whatever its timeout says.
const MAX_TIMEOUT: Duration = Duration::from_secs(300);

/// Checks one URL with fixed thresholds.
#[derive(Debug, Clone)]
pub struct Prober {
    http: reqwest::Client,
    url: Url,
    timeout: Duration,
    slow: Duration,
    fast: Option<Duration>,
}

impl Prober {
    /// A prober on the shared client (see [`shared_client`]).
    pub fn new(
        http: reqwest::Client,
        url: Url,
        timeout: Duration,
        slow: Duration,
        fast: Option<Duration>,
    ) -> Self {
        Prober {
            http,
            url,
            timeout: timeout.min(MAX_TIMEOUT),
            slow,
            fast,
        }
    }

    /// A prober with the thresholds of a target's check settings.
    pub fn for_settings(http: reqwest::Client, url: Url, settings: &CheckSettings) -> Self {
        Prober::new(http, url, settings.timeout, settings.slow, settings.fast)
    }

    pub fn url(&self) -> &Url {
        &self.url
    }

    /// One check. Never fails: every failure is an outcome.
    pub async fn probe(&self) -> Probe {
        let started = Instant::now();
        let result = async {
            let response = self
                .http
                .get(self.url.clone())
                .timeout(self.timeout)
                .send()
                .await?;
            let status = response.status();
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            // The answer is complete when its body is; a huge page is read up to a cap (the
            // clock dyno is small) and the rest is not waited for.
            let mut response = response;
            let mut read = 0usize;
            while let Some(chunk) = response.chunk().await? {
                read += chunk.len();
                if read >= BODY_CAP {
                    break;
                }
            }
            Ok::<_, reqwest::Error>((status, location))
        }
        .await;
        let latency = started.elapsed();
        match result {
            Ok((status, location)) => {
                let code = Some(status.as_u16());
                if status.is_success() {
                    Probe {
                        outcome: self.classify(latency),
                        status: code,
                        latency,
                        error: String::new(),
                    }
                } else {
                    let mut error = format!("HTTP {}", status.as_u16());
                    if let (true, Some(to)) = (status.is_redirection(), location) {
                        error.push_str(&format!(" redirect to {to}"));
                    }
                    Probe {
                        outcome: Outcome::Down,
                        status: code,
                        latency,
                        error,
                    }
                }
            }
            Err(e) => {
                let error = if e.is_timeout() {
                    format!(
                        "timeout: no complete answer within {}",
                        humantime::format_duration(self.timeout)
                    )
                } else {
                    format!("{}: {}", transport_kind(&e), error_chain(&e))
                };
                Probe {
                    outcome: Outcome::Down,
                    status: e.status().map(|s| s.as_u16()),
                    latency,
                    error,
                }
            }
        }
    }

    /// A 2xx answer's class by its latency.
    pub fn classify(&self, latency: Duration) -> Outcome {
        if latency > self.slow {
            Outcome::Slow
        } else if self.fast.is_some_and(|fast| latency < fast) {
            Outcome::Fast
        } else {
            Outcome::Ok
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_is_compared_whole_not_by_its_subsecond_part() {
        let p = Prober::new(
            shared_client(),
            Url::parse("http://127.0.0.1:9/").unwrap(),
            Duration::from_secs(10),
            Duration::from_secs(5),
            Some(Duration::from_secs(1)),
        );
        assert_eq!(p.classify(Duration::from_millis(6_100)), Outcome::Slow);
        assert_eq!(p.classify(Duration::from_millis(5_000)), Outcome::Ok);
        assert_eq!(p.classify(Duration::from_millis(1_000)), Outcome::Ok);
        assert_eq!(p.classify(Duration::from_millis(999)), Outcome::Fast);
        assert_eq!(p.classify(Duration::from_millis(60_050)), Outcome::Slow);
        let no_fast = Prober::new(p.http.clone(), p.url.clone(), p.timeout, p.slow, None);
        assert_eq!(no_fast.classify(Duration::from_millis(1)), Outcome::Ok);
    }

    #[test]
    fn a_web_url_is_checked_only_when_it_is_an_http_url_with_a_host() {
        let ok = web_url_check(Some("https://shop-1a2b3c.herokuapp.com/")).unwrap();
        assert_eq!(ok.as_str(), "https://shop-1a2b3c.herokuapp.com/");
        assert!(web_url_check(Some("http://127.0.0.1:5000/")).is_ok());
        let bad = |text: Option<&str>| {
            let e = web_url_check(text).unwrap_err();
            (e.reason(), e.to_string())
        };
        assert_eq!(
            bad(None),
            ("no_web_url", "the app has no web_url".to_owned())
        );
        assert_eq!(
            bad(Some("ftp://shop.example.com/")),
            (
                "bad_web_url",
                "the app's web_url has scheme \"ftp\", not http(s)".to_owned()
            )
        );
        let (reason, message) = bad(Some("shop.example.com"));
        assert_eq!(reason, "bad_web_url");
        assert!(
            message.starts_with("the app's web_url is not a URL ("),
            "{message}"
        );
    }
}
