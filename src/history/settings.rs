//! Where the history lives: `AUTOSCALE_HISTORY` and `AUTOSCALE_HISTORY_DAYS`, resolved exactly as
//! the contract's table says, and the few decisions that follow from the URL (TLS, what may be
//! printed of it).
//!
//! Pure: the variables come in through a lookup function, so tests hand over a table.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;

use url::Url;

use crate::http::redact_url;

pub const HISTORY_VAR: &str = "AUTOSCALE_HISTORY";
pub const DAYS_VAR: &str = "AUTOSCALE_HISTORY_DAYS";
pub const DATABASE_URL_VAR: &str = "DATABASE_URL";
/// Set on every Heroku dyno (`web.1`, `clock.2`, ...).
pub const DYNO_VAR: &str = "DYNO";
/// The SQLite file used outside a dyno when nothing else is set.
pub const LOCAL_DEFAULT: &str = "sqlite://autoscale-history.sqlite";
pub const DEFAULT_DAYS: u32 = 35;
pub const MAX_DAYS: u32 = 3660;

const HISTORY_EXAMPLE: &str = "AUTOSCALE_HISTORY=sqlite://autoscale-history.sqlite";
const POSTGRES_EXAMPLE: &str = "postgres://USER:PASSWORD@HOST:5432/DATABASE";
const DAYS_EXAMPLE: &str = "AUTOSCALE_HISTORY_DAYS=35";

/// A store the history can use. `Display` never shows a password or a query value.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreUrl {
    /// `postgres://` or `postgresql://` (Heroku Postgres).
    Postgres(Url),
    /// `sqlite://PATH`: a file, created when missing.
    Sqlite(PathBuf),
}

/// What `AUTOSCALE_HISTORY` resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HistorySetting {
    /// No history. `warning` says why when the operator did not ask for it (a dyno without a
    /// database): log it once at start.
    Off {
        warning: Option<String>,
    },
    On(StoreUrl),
}

/// Both history settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub store: HistorySetting,
    /// Rows older than this many days are deleted.
    pub retention_days: u32,
}

/// A bad value: one line naming the variable, the value (redacted) and an example.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}={value:?}: {problem}; example: {example}")]
pub struct SettingError {
    pub variable: &'static str,
    /// Already safe to print.
    pub value: String,
    pub problem: String,
    pub example: String,
}

/// How the Postgres connection uses TLS: the URL's own `sslmode` when it has one, else
/// `require` (encrypted, certificate not verified: Heroku Postgres certificates are not signed by
/// a public authority, and Heroku documents `sslmode=require`), except for a loopback host, where
/// `prefer` lets a local server without TLS work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tls {
    Disable,
    Allow,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

/// Resolves both variables from `get` (which answers `None` for an unset variable).
pub fn resolve(get: impl Fn(&str) -> Option<String>) -> Result<Settings, SettingError> {
    let value = |name: &str| get(name).filter(|v| !v.trim().is_empty());
    let store =
        match value(HISTORY_VAR) {
            Some(text) if text.trim().eq_ignore_ascii_case("off") => {
                HistorySetting::Off { warning: None }
            }
            Some(text) => HistorySetting::On(parse_store_url(&text).map_err(|problem| {
                SettingError::new(HISTORY_VAR, &text, problem, HISTORY_EXAMPLE)
            })?),
            None => match value(DATABASE_URL_VAR) {
                Some(url) if is_postgres(&url) => {
                    HistorySetting::On(parse_store_url(&url).map_err(|problem| {
                        SettingError::new(
                            DATABASE_URL_VAR,
                            &url,
                            problem,
                            &format!("{DATABASE_URL_VAR}={POSTGRES_EXAMPLE}"),
                        )
                    })?)
                }
                _ if value(DYNO_VAR).is_none() => HistorySetting::On(
                    parse_store_url(LOCAL_DEFAULT).expect("the default is a valid sqlite URL"),
                ),
                _ => HistorySetting::Off {
                    warning: Some(format!(
                        "history is off: this dyno has no Heroku Postgres {DATABASE_URL_VAR} and \
                     {HISTORY_VAR} is not set (heroku addons:create heroku-postgresql:essential-0)"
                    )),
                },
            },
        };
    let retention_days = match value(DAYS_VAR) {
        None => DEFAULT_DAYS,
        Some(text) => parse_days(&text).ok_or_else(|| {
            SettingError::new(
                DAYS_VAR,
                &text,
                format!("not a whole number of days from 1 to {MAX_DAYS}"),
                DAYS_EXAMPLE,
            )
        })?,
    };
    Ok(Settings {
        store,
        retention_days,
    })
}

/// Parses `postgres://…`, `postgresql://…` or `sqlite://PATH`; the error is the problem alone.
pub fn parse_store_url(text: &str) -> Result<StoreUrl, String> {
    let text = text.trim();
    if let Some(path) = text.strip_prefix("sqlite://") {
        if path.is_empty() || path.contains('\0') {
            return Err("the sqlite URL has no file path (sqlite://PATH)".into());
        }
        return Ok(StoreUrl::Sqlite(PathBuf::from(path)));
    }
    if !is_postgres(text) {
        return Err(format!(
            "not a history store: expected {POSTGRES_EXAMPLE}, sqlite://PATH or off"
        ));
    }
    let url = Url::parse(text).map_err(|e| format!("not a URL ({e})"))?;
    if url.host_str().is_none_or(str::is_empty) {
        return Err("the postgres URL has no host".into());
    }
    if let Some((_, mode)) = url.query_pairs().find(|(k, _)| k == "sslmode") {
        if Tls::parse(&mode).is_none() {
            return Err(
                "sslmode must be disable, allow, prefer, require, verify-ca or verify-full".into(),
            );
        }
    }
    Ok(StoreUrl::Postgres(url))
}

fn is_postgres(text: &str) -> bool {
    let text = text.trim_start();
    ["postgres://", "postgresql://"].iter().any(|scheme| {
        text.get(..scheme.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(scheme))
    })
}

fn parse_days(text: &str) -> Option<u32> {
    text.trim()
        .parse::<u32>()
        .ok()
        .filter(|days| (1..=MAX_DAYS).contains(days))
}

impl SettingError {
    fn new(
        variable: &'static str,
        value: &str,
        problem: impl Into<String>,
        example: &str,
    ) -> SettingError {
        SettingError {
            variable,
            // Both the history and DATABASE_URL carry a password, whatever their shape.
            value: if variable == DAYS_VAR {
                crate::http::redact_text(value)
            } else {
                crate::http::redact_secret(value)
            },
            problem: problem.into(),
            example: example.into(),
        }
    }
}

impl Tls {
    fn parse(text: &str) -> Option<Tls> {
        Some(match text {
            "disable" => Tls::Disable,
            "allow" => Tls::Allow,
            "prefer" => Tls::Prefer,
            "require" => Tls::Require,
            "verify-ca" => Tls::VerifyCa,
            "verify-full" => Tls::VerifyFull,
            _ => return None,
        })
    }

    /// The mode for `url` (see the type's docs).
    pub fn for_url(url: &Url) -> Tls {
        if let Some(mode) = url
            .query_pairs()
            .find(|(k, _)| k == "sslmode")
            .and_then(|(_, v)| Tls::parse(&v))
        {
            return mode;
        }
        let loopback = match url.host() {
            // A `postgres:` URL's host is not parsed as an address by the URL parser.
            Some(url::Host::Domain(name)) => {
                name.eq_ignore_ascii_case("localhost")
                    || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
            }
            Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
            Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
            None => false,
        };
        if loopback {
            Tls::Prefer
        } else {
            Tls::Require
        }
    }
}

impl StoreUrl {
    /// `postgres` or `sqlite`.
    pub fn kind(&self) -> &'static str {
        match self {
            StoreUrl::Postgres(_) => "postgres",
            StoreUrl::Sqlite(_) => "sqlite",
        }
    }

    /// Makes text from a database error safe to print: the URL and its password are replaced
    /// (a driver may quote either), and the text becomes one line of bounded length.
    pub fn scrub(&self, text: &str) -> String {
        let mut text = text.replace(['\n', '\r'], " ");
        if let StoreUrl::Postgres(url) = self {
            text = text.replace(url.as_str(), &redact_url(url));
            if let Some(password) = url.password().filter(|p| !p.is_empty()) {
                text = text.replace(password, "***");
                let decoded = percent_decode(password);
                if !decoded.is_empty() {
                    text = text.replace(&decoded, "***");
                }
            }
        }
        crate::history::rows::cut(&mut text, 300);
        text
    }
}

/// `%XX` escapes decoded (bytes that do not form UTF-8 become U+FFFD).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreUrl::Postgres(url) => f.write_str(&redact_url(url)),
            StoreUrl::Sqlite(path) => write!(f, "sqlite://{}", path.display()),
        }
    }
}

/// The same as `Display`: a password must not reach a log through `{:?}` either.
impl fmt::Debug for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StoreUrl({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "s3cr%2Ft-pw";

    fn resolve_with(vars: &[(&str, &str)]) -> Result<Settings, SettingError> {
        resolve(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
    }

    fn store(vars: &[(&str, &str)]) -> HistorySetting {
        resolve_with(vars).unwrap().store
    }

    fn pg(text: &str) -> HistorySetting {
        HistorySetting::On(StoreUrl::Postgres(Url::parse(text).unwrap()))
    }

    fn sqlite(path: &str) -> HistorySetting {
        HistorySetting::On(StoreUrl::Sqlite(PathBuf::from(path)))
    }

    #[test]
    fn the_contract_table() {
        let heroku_db = "postgres://u:pw@ec2-1-2-3-4.compute-1.amazonaws.com:5432/d8a";
        // AUTOSCALE_HISTORY wins over everything.
        assert_eq!(
            store(&[
                (HISTORY_VAR, "sqlite:///var/h.sqlite"),
                (DATABASE_URL_VAR, heroku_db),
                (DYNO_VAR, "clock.1")
            ]),
            sqlite("/var/h.sqlite")
        );
        assert_eq!(
            store(&[(HISTORY_VAR, "OFF"), (DATABASE_URL_VAR, heroku_db)]),
            HistorySetting::Off { warning: None }
        );
        assert_eq!(
            store(&[(HISTORY_VAR, "postgresql://h.example/db")]),
            pg("postgresql://h.example/db")
        );
        // Unset: DATABASE_URL when it is a postgres URL, on a dyno or not.
        assert_eq!(
            store(&[(DATABASE_URL_VAR, heroku_db), (DYNO_VAR, "clock.1")]),
            pg(heroku_db)
        );
        assert_eq!(store(&[(DATABASE_URL_VAR, heroku_db)]), pg(heroku_db));
        assert_eq!(
            store(&[(HISTORY_VAR, "  "), (DATABASE_URL_VAR, heroku_db)]),
            pg(heroku_db)
        );
        // Otherwise off a dyno: the local SQLite file.
        assert_eq!(store(&[]), sqlite("autoscale-history.sqlite"));
        assert_eq!(
            store(&[(DATABASE_URL_VAR, "mysql://u:p@h/db"), (DYNO_VAR, "")]),
            sqlite("autoscale-history.sqlite")
        );
        // On a dyno without a postgres database: off, with a warning.
        for vars in [
            &[(DYNO_VAR, "clock.1")][..],
            &[
                (DYNO_VAR, "clock.1"),
                (DATABASE_URL_VAR, "mysql://u:p@h/db"),
            ][..],
        ] {
            let HistorySetting::Off {
                warning: Some(warning),
            } = store(vars)
            else {
                panic!("{vars:?}: expected off with a warning")
            };
            assert!(warning.contains("history is off"), "{warning}");
            assert!(warning.contains("heroku-postgresql"), "{warning}");
        }
    }

    #[test]
    fn retention_days_default_and_range() {
        assert_eq!(resolve_with(&[]).unwrap().retention_days, 35);
        assert_eq!(
            resolve_with(&[(DAYS_VAR, " 7 ")]).unwrap().retention_days,
            7
        );
        assert_eq!(resolve_with(&[(DAYS_VAR, "1")]).unwrap().retention_days, 1);
        assert_eq!(
            resolve_with(&[(DAYS_VAR, "3660")]).unwrap().retention_days,
            3660
        );
        for bad in ["0", "3661", "-3", "7d", "1.5", "lots"] {
            let e = resolve_with(&[(DAYS_VAR, bad)]).unwrap_err();
            assert_eq!(e.variable, DAYS_VAR);
            assert_eq!(
                e.to_string(),
                format!("AUTOSCALE_HISTORY_DAYS={bad:?}: not a whole number of days from 1 to 3660; example: AUTOSCALE_HISTORY_DAYS=35")
            );
        }
    }

    #[test]
    fn bad_values_are_one_line_with_the_variable_a_redacted_value_and_an_example() {
        let cases = [
            (
                vec![(HISTORY_VAR, format!("mysql://admin:{SECRET}@db.example/x"))],
                HISTORY_VAR,
                "not a history store",
            ),
            (
                vec![(
                    HISTORY_VAR,
                    format!("host=127.0.0.1 password={SECRET} dbname=x"),
                )],
                HISTORY_VAR,
                "not a history store",
            ),
            (
                vec![(HISTORY_VAR, format!("{SECRET}:{SECRET}"))],
                HISTORY_VAR,
                "not a history store",
            ),
            (
                vec![(HISTORY_VAR, "sqlite://".to_string())],
                HISTORY_VAR,
                "no file path",
            ),
            (
                vec![(HISTORY_VAR, format!("postgres://u:{SECRET}@/db"))],
                HISTORY_VAR,
                "empty host",
            ),
            (
                vec![(HISTORY_VAR, "postgres:///db".to_string())],
                HISTORY_VAR,
                "no host",
            ),
            (
                vec![(HISTORY_VAR, "postgresql://".to_string())],
                HISTORY_VAR,
                "no host",
            ),
            (
                vec![(
                    HISTORY_VAR,
                    format!("postgres://u:{SECRET}@h.example/db?sslmode=sometimes"),
                )],
                HISTORY_VAR,
                "sslmode must be",
            ),
            (
                vec![(
                    DATABASE_URL_VAR,
                    format!("postgres://u:{SECRET}@h.example:99999/db"),
                )],
                DATABASE_URL_VAR,
                "not a URL",
            ),
        ];
        for (vars, variable, problem) in cases {
            let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let line = resolve_with(&vars).unwrap_err().to_string();
            assert!(line.starts_with(&format!("{variable}=")), "{line}");
            assert!(line.contains(problem), "{line}");
            assert!(line.contains("; example: "), "{line}");
            assert!(!line.contains("s3cr"), "a password leaked: {line}");
            assert!(!line.contains('\n'), "{line}");
        }
    }

    #[test]
    fn tls_follows_the_url_then_the_host() {
        let mode = |text: &str| Tls::for_url(&Url::parse(text).unwrap());
        assert_eq!(
            mode("postgres://u:p@ec2-1-2-3-4.example.com/d"),
            Tls::Require
        );
        assert_eq!(mode("postgres://u:p@10.0.0.5/d"), Tls::Require);
        assert_eq!(mode("postgres://u:p@127.0.0.1.example.com/d"), Tls::Require);
        assert_eq!(mode("postgres://u:p@127.0.0.1:5432/d"), Tls::Prefer);
        assert_eq!(mode("postgres://u:p@127.8.0.1/d"), Tls::Prefer);
        assert_eq!(mode("postgres://u:p@LocalHost/d"), Tls::Prefer);
        assert_eq!(mode("postgres://u:p@[::1]/d"), Tls::Prefer);
        assert_eq!(mode("postgres://u:p@[2001:db8::1]/d"), Tls::Require);
        assert_eq!(
            mode("postgres://u:p@127.0.0.1/d?sslmode=require"),
            Tls::Require
        );
        assert_eq!(
            mode("postgres://h.example/d?sslmode=verify-full"),
            Tls::VerifyFull
        );
        for (text, expected) in [
            ("disable", Tls::Disable),
            ("allow", Tls::Allow),
            ("prefer", Tls::Prefer),
            ("require", Tls::Require),
            ("verify-ca", Tls::VerifyCa),
            ("verify-full", Tls::VerifyFull),
        ] {
            assert_eq!(Tls::parse(text), Some(expected));
        }
        assert_eq!(Tls::parse("Require"), None);
    }

    #[test]
    fn printing_a_store_never_shows_its_password() {
        let url = parse_store_url(&format!(
            "postgres://admin:{SECRET}@db.example:5432/d?sslmode=require"
        ))
        .unwrap();
        assert_eq!(
            url.to_string(),
            "postgres://***@db.example:5432/d?sslmode=***"
        );
        assert_eq!(
            format!("{url:?}"),
            "StoreUrl(postgres://***@db.example:5432/d?sslmode=***)"
        );
        assert_eq!(url.kind(), "postgres");
        let file = parse_store_url("sqlite://data/h.sqlite").unwrap();
        assert_eq!(file.to_string(), "sqlite://data/h.sqlite");
        assert_eq!(file.kind(), "sqlite");
        assert_eq!(file, StoreUrl::Sqlite(PathBuf::from("data/h.sqlite")));
    }

    #[test]
    fn scrub_removes_the_url_and_the_password_raw_and_decoded() {
        let text = format!("postgres://admin:{SECRET}@db.example/d");
        let url = parse_store_url(&text).unwrap();
        let StoreUrl::Postgres(parsed) = &url else {
            unreachable!()
        };
        let message = format!(
            "error with configuration: {}\nrelative URL without a base; password {SECRET} or s3cr/t-pw",
            parsed.as_str()
        );
        let shown = url.scrub(&message);
        assert!(!shown.contains("s3cr"), "{shown}");
        assert!(!shown.contains('\n'), "{shown}");
        assert!(shown.contains("postgres://***@db.example/d"), "{shown}");
        assert!(url.scrub(&"x".repeat(1000)).len() == 300);
        // A SQLite error keeps its text (there is no secret in a path), still on one line.
        let file = parse_store_url("sqlite://h.sqlite").unwrap();
        assert_eq!(
            file.scrub("unable to open\ndatabase file"),
            "unable to open database file"
        );
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%2Fb%20c"), "a/b c");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("%C3%A9"), "é");
    }
}
