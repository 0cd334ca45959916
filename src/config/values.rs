//! One value of a setting parsed, each with the usual one-line error that names the variable (or
//! the file's key), the bad value and a valid example: durations, counts, shares, booleans, time
//! zones, schedules, app and process names, check URLs, and the https-only base URLs.

use super::*;

/// A share: `5%`, `0.05`. Must be above 0 and at most 1.
pub(super) fn share(
    value: Option<&Value>,
    default: f64,
    example: &str,
) -> Result<f64, ConfigError> {
    let Some(v) = value else {
        return Ok(default);
    };
    let text = v.trimmed();
    let parsed = match text.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map(|x| x / 100.0),
        None => text.parse::<f64>(),
    };
    match parsed {
        Ok(x) if x.is_finite() && x > 0.0 && x <= 1.0 => Ok(x),
        _ => Err(v.err(
            "must be a share above 0 and at most 1 (0.7, or 70%)",
            example,
        )),
    }
}

pub fn duration(value: Option<&Value>, default: Duration) -> Result<Duration, ConfigError> {
    let Some(v) = value else {
        return Ok(default);
    };
    let example = humantime::format_duration(default);
    match humantime::parse_duration(v.trimmed()) {
        Ok(d) if d.is_zero() => Err(v.err("must be more than zero", example)),
        // Far beyond any sensible setting, and past what timers and dates can add safely.
        Ok(d) if d > Duration::from_secs(366 * 86_400) => {
            Err(v.err("must be at most a year", example))
        }
        Ok(d) => Ok(d),
        Err(e) => Err(v.err(format!("not a duration ({e})"), example)),
    }
}

pub(super) fn count(value: Option<&Value>, default: u32, max: u32) -> Result<u32, ConfigError> {
    let Some(v) = value else {
        return Ok(default);
    };
    match v.trimmed().parse::<u32>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(v.err(
            format!("must be a whole number of at least 1 (and at most {max})"),
            default,
        )),
    }
}

/// true/false/1/0/yes/no, any case.
pub fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Some(true),
        "false" | "0" | "no" => Some(false),
        _ => None,
    }
}

/// Parses an API base URL that will carry a secret: https anywhere, http only to loopback; no
/// credentials, query or fragment (they would mangle every path or send a second credential).
pub fn secure_base_url(
    place: &Place,
    value: Option<&str>,
    default: &str,
) -> Result<Url, ConfigError> {
    let text = value.unwrap_or(default).trim();
    let url =
        Url::parse(text).map_err(|e| place.err(value, format!("not a URL ({e})"), default))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback_host(&url) => {}
        "http" => {
            return Err(place.err(
                value,
                "plain http is accepted only for loopback hosts (127.0.0.1, ::1, localhost): the credentials would travel in clear text",
                default,
            ))
        }
        other => {
            return Err(place.err(value, format!("scheme {other:?} is not http(s)"), default))
        }
    }
    if url.host().is_none() {
        return Err(place.err(value, "has no host", default));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(place.err(
            value,
            "must not carry a user or password: the token is sent in its own header",
            default,
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(place.err(
            value,
            "must not have a query (?…) or fragment (#…): paths are appended to it",
            default,
        ));
    }
    Ok(url)
}

/// A time zone by its IANA name, with "did you mean" for a wrong case or a near miss.
pub(super) fn time_zone(value: Option<&Value>) -> Result<Tz, ConfigError> {
    let Some(v) = value else {
        return Ok(chrono_tz::UTC);
    };
    v.trimmed().parse::<Tz>().map_err(|_| {
        let names = chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name());
        let wanted = v.trimmed().to_ascii_lowercase();
        let suggestion = chrono_tz::TZ_VARIANTS
            .iter()
            .map(|tz| tz.name())
            .find(|n| n.to_ascii_lowercase() == wanted)
            .or_else(|| field::closest(v.trimmed(), names));
        match suggestion {
            Some(s) => v.err(format!("not an IANA time zone name; did you mean {s}?"), s),
            None => v.err("not an IANA time zone name", "Europe/Berlin"),
        }
    })
}

pub(super) fn schedule(value: Option<&Value>, tz: Tz) -> Result<Schedule, ConfigError> {
    let text = value.map_or(DEFAULT_SCHEDULE, |v| v.text.as_str());
    Schedule::parse(text, tz).map_err(|e| {
        let v = value.expect("the default schedule parses");
        let hint = if text.contains(',') && !text.contains(';') && text.matches('=').count() > 1 {
            " (entries are separated by `;`, not `,`)"
        } else {
            ""
        };
        let example = match e {
            ScheduleError::Entry { size: true, .. } => e.example(),
            _ => DEFAULT_SCHEDULE,
        };
        schedule_error(v, format!("{e}{hint}"), &e, example)
    })
}

/// A schedule's error on one line: a value of too many entries is shown by its start only.
pub(super) fn schedule_error(
    v: &Value,
    problem: String,
    e: &ScheduleError,
    example: &str,
) -> ConfigError {
    match e {
        ScheduleError::TooMany { .. } => {
            let start: String = v.trimmed().chars().take(40).collect();
            let shown = format!("{start}… ({} characters)", v.text.chars().count());
            v.place.err(Some(&shown), problem, example)
        }
        _ => v.err(problem, example),
    }
}

/// App names are lower-case letters, digits and dashes; ids are UUIDs (hex and dashes).
pub fn is_app_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && name.chars().any(|c| c.is_ascii_alphanumeric())
}

/// Process types (the Procfile's names): letters, digits, `-` and `_`.
pub fn is_process_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

pub(super) fn app_name(value: &Value) -> Result<String, ConfigError> {
    let name = value.trimmed();
    if !is_app_name(name) {
        return Err(value.err(
            "not an app name or id (letters, digits and dashes)",
            "my-app",
        ));
    }
    Ok(name.to_owned())
}

pub(super) fn process_name(value: Option<&Value>) -> Result<String, ConfigError> {
    let Some(v) = value else {
        return Ok("web".to_owned());
    };
    let name = v.trimmed();
    if !is_process_name(name) {
        return Err(v.err("not a process type (letters, digits, - and _)", "web"));
    }
    Ok(name.to_owned())
}

pub(super) fn check_url(value: Option<&Value>, process: &str) -> Result<CheckUrl, ConfigError> {
    let Some(v) = value.filter(|v| !v.trimmed().is_empty()) else {
        // The app's web_url is where its web process answers; other processes have none.
        return Ok(if process == "web" {
            CheckUrl::FromApp
        } else {
            CheckUrl::Off
        });
    };
    let text = v.trimmed();
    if text.eq_ignore_ascii_case("off") {
        return Ok(CheckUrl::Off);
    }
    let example = "https://my-app-1234.herokuapp.com/health";
    match Url::parse(text) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
            Ok(CheckUrl::Url(u))
        }
        Ok(_) => Err(v.err("must be an http(s) URL or off", example)),
        Err(e) => Err(v.err(format!("not a URL ({e})"), example)),
    }
}
