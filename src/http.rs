//! Outbound HTTP, written once: the reqwest client every part uses (Heroku API, checks, alerts,
//! calendar feeds, log streams), bodies read with a cap, errors described without their URL, and
//! URLs redacted wherever they are printed.
//!
//! Every client here has connect and total timeouts (reqwest has none by default), uses rustls,
//! and never follows redirects: a redirect is reported, not obeyed (an API or a health URL that
//! redirects is misconfigured, and a redirect could carry a credential to another host).

use std::net::IpAddr;
use std::time::Duration;

use url::Url;

/// `autoscale/VERSION`, sent to Heroku, to the checked app and to alert receivers.
pub const USER_AGENT: &str = concat!("autoscale/", env!("CARGO_PKG_VERSION"));

/// A client builder with the project's defaults: user agent, both timeouts, no redirects.
/// Callers add what is theirs (default headers, pool settings) and build.
pub fn builder(
    user_agent: &str,
    timeout: Duration,
    connect_timeout: Duration,
) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .user_agent(user_agent)
        .timeout(timeout)
        .connect_timeout(connect_timeout)
        .redirect(reqwest::redirect::Policy::none())
}

/// Plain http may only go to this machine: the API key must never cross a network in clear text.
pub fn is_loopback_host(url: &Url) -> bool {
    match url.host() {
        // Non-special schemes (smtp://) keep IP hosts as opaque domain text.
        Some(url::Host::Domain(d)) => {
            d.eq_ignore_ascii_case("localhost")
                || d.trim_matches(['[', ']'])
                    .parse::<IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// Builds a client; only an impossible TLS setup fails, and rustls is compiled in.
pub fn build(builder: reqwest::ClientBuilder) -> reqwest::Client {
    builder.build().expect("the TLS backend is compiled in")
}

/// Why a capped body read failed.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// The body is longer than the cap (declared by Content-Length, or seen while reading).
    #[error("the answer is larger than {cap} bytes")]
    TooLarge { cap: usize },
    /// The transfer failed (reset, timeout, ...).
    #[error("{kind}: {message}")]
    Transport { kind: &'static str, message: String },
}

impl BodyError {
    fn transport(e: &reqwest::Error) -> BodyError {
        BodyError::Transport {
            kind: transport_kind(e),
            message: error_chain(e),
        }
    }
}

/// Reads a whole body, refusing one larger than `cap` bytes without reading it all: memory never
/// grows by what a hostile or broken server sends.
pub async fn read_capped(
    mut response: reqwest::Response,
    cap: usize,
) -> Result<Vec<u8>, BodyError> {
    if response
        .content_length()
        .is_some_and(|declared| declared > cap as u64)
    {
        return Err(BodyError::TooLarge { cap });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| BodyError::transport(&e))?
    {
        if body.len() + chunk.len() > cap {
            return Err(BodyError::TooLarge { cap });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A short name for what went wrong below HTTP, for logs and alerts.
pub fn transport_kind(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect"
    } else if e.is_body() || e.is_decode() {
        "body"
    } else if e.is_request() {
        "request"
    } else {
        "network"
    }
}

/// What went wrong, from the causes: reqwest's own top line ("error sending request for url
/// (...)") says nothing useful and carries the URL, which may hold a token (webhooks, a check
/// URL with a query secret), so it is dropped when there is a cause below it.
pub fn error_chain(e: &reqwest::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    if parts.is_empty() {
        // Without a cause the top line is all there is: strip the URL it may quote.
        return match e.url() {
            Some(url) => e.to_string().replace(url.as_str(), &redact_url(url)),
            None => e.to_string(),
        };
    }
    parts.join(": ")
}

/// A URL as it may be printed: user and password become `***`, every query value becomes `***`
/// (keys stay, they say what the URL is), and the fragment is dropped. Host, port and path stay:
/// they are what a reader needs to recognise the URL.
///
/// URLs whose *path* is the secret (Slack webhooks) need more: see
/// [`crate::notify::settings::redact_url`].
pub fn redact_url(url: &Url) -> String {
    let mut shown = url.clone();
    shown.set_fragment(None);
    if !shown.username().is_empty() || shown.password().is_some() {
        // Cannot fail on a URL that has a host; a URL without one has no userinfo either.
        let _ = shown.set_username("***");
        let _ = shown.set_password(None);
    }
    if shown.query().is_some() {
        let keys: Vec<String> = url.query_pairs().map(|(k, _)| k.into_owned()).collect();
        if keys.is_empty() {
            shown.set_query(None);
        } else {
            let mut pairs = shown.query_pairs_mut();
            pairs.clear();
            for key in &keys {
                pairs.append_pair(key, "***");
            }
        }
    }
    shown.to_string()
}

/// [`redact_url`] for text that may or may not be a URL (a configuration value): a value that
/// does not parse and may hold a secret (`user:pw@host`, a query, a `password=…` pair) is shown
/// only by its length.
pub fn redact_text(text: &str) -> String {
    match Url::parse(text.trim()) {
        Ok(url) if url.has_host() => redact_url(&url),
        // `user:pw@host` parses as a URL of scheme `user` with no host: not one we can redact.
        _ if may_hold_secret(text) => not_shown(text),
        _ => text.to_owned(),
    }
}

/// The value of a setting that carries a secret (a database URL, a webhook): a URL with a host is
/// shown as [`redact_url`] gives it; anything else (a `host=… password=…` connection string, a
/// URL that does not parse) only by its length, whatever its shape.
pub fn redact_secret(text: &str) -> String {
    match Url::parse(text.trim()) {
        Ok(url) if url.has_host() => redact_url(&url),
        _ => not_shown(text),
    }
}

fn not_shown(text: &str) -> String {
    format!(
        "(a value of {} characters, not shown)",
        text.chars().count()
    )
}

/// Whether text that is not a URL may still carry a secret: credentials (`@`), a query (`?`), or
/// a key such as `password=`, `token=`, `secret=` or `key=` (a connection string).
fn may_hold_secret(text: &str) -> bool {
    if text.contains('@') || text.contains('?') {
        return true;
    }
    let lower = text.to_ascii_lowercase();
    [
        "pass",
        "pwd",
        "secret",
        "token",
        "key",
        "auth",
        "credential",
    ]
    .iter()
    .any(|word| lower.contains(word))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_and_query_values_are_redacted_and_the_rest_kept() {
        let cases = [
            (
                "https://user:pa55@host.example/path?x=1",
                "https://***@host.example/path?x=***",
            ),
            (
                "https://host.example/health?key=s3cret&v=2#frag",
                "https://host.example/health?key=***&v=***",
            ),
            (
                "https://host.example:8443/a/b",
                "https://host.example:8443/a/b",
            ),
            ("https://user@host.example/", "https://***@host.example/"),
            (
                "postgres://u:pw@db.example:5432/d?sslmode=require",
                "postgres://***@db.example:5432/d?sslmode=***",
            ),
            ("https://host.example/?", "https://host.example/"),
        ];
        for (input, shown) in cases {
            let url = Url::parse(input).unwrap();
            assert_eq!(redact_url(&url), shown, "{input}");
        }
    }

    #[test]
    fn a_secret_setting_is_never_echoed_whatever_its_shape() {
        for shape in [
            "host=127.0.0.1 password=pgSECRET dbname=x",
            "pgSECRET",
            "postgres://u:pgSECRET@[::1/d",
            "u:pgSECRET@db.example",
            "mysql:pgSECRET",
        ] {
            let shown = redact_secret(shape);
            assert!(!shown.contains("pgSECRET"), "{shape}: {shown}");
            assert!(shown.contains("not shown"), "{shape}: {shown}");
        }
        assert_eq!(
            redact_secret("postgres://u:pgSECRET@db.example/d?x=pgSECRET"),
            "postgres://***@db.example/d?x=***"
        );
    }

    #[test]
    fn text_that_is_not_a_url_but_may_hold_a_secret_is_not_echoed() {
        assert_eq!(
            redact_text("user:pw@host"),
            "(a value of 12 characters, not shown)"
        );
        assert_eq!(redact_text("off"), "off");
        assert_eq!(redact_text("07:00=3"), "07:00=3");
        for shape in [
            "host=127.0.0.1 password=pgSECRET dbname=x",
            "PWD=pgSECRET",
            "token: pgSECRET",
            "api_key pgSECRET",
        ] {
            assert!(!redact_text(shape).contains("pgSECRET"), "{shape}");
        }
        assert_eq!(
            redact_text(" https://a:b@h.example/x "),
            "https://***@h.example/x"
        );
    }
}
