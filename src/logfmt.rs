//! Logfmt event lines: the daemon's log format, and a parser to read it back.
//!
//! Our logs are an interface: operators alert on them and the `chart`
//! subcommand parses them back. So every stdout line is exactly one event line
//!
//! ```text
//! ts=2026-11-30T05:47:25.123Z level=info event=scale from=1 to=3 reason=startup result=ok
//! ```
//!
//! `ts` (RFC 3339, UTC, milliseconds), `level` (lowercase), `event`, then the
//! event's other fields in recording order, and a `message` field last.
//! Events from dependencies carry no `event` field; they become
//! `event=log target=<target> message="..."` plus their fields, so that no
//! line ever breaks the format. Span context is deliberately left out: one
//! line must describe one event on its own.

use std::borrow::Cow;
use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

/// Filter used when the operator configures none: our own events at `info`,
/// and the cron scheduler, which logs every tick at `info`, only when it warns.
pub const DEFAULT_FILTER: &str = "info,tokio_cron_scheduler=warn";

/// Installs the global subscriber: logfmt lines on stdout, filtered by
/// `filter` (`RUST_LOG` syntax), no ANSI colours (they would corrupt values).
///
/// Errors say why the filter is invalid, or that a subscriber is already set.
pub fn init(filter: &str) -> Result<(), String> {
    init_with(filter, QuietStdout)
}

/// Standard output that complains once: with stdout closed (a broken pipe, a detached
/// terminal), the first failed write is said on stderr and later lines are dropped quietly
/// instead of an error line per event.
#[derive(Debug, Clone, Copy, Default)]
pub struct QuietStdout;

static STDOUT_FAILED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

impl std::io::Write for QuietStdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if !STDOUT_FAILED.load(std::sync::atomic::Ordering::Relaxed) {
            if let Err(e) = std::io::stdout().write_all(buf) {
                if !STDOUT_FAILED.swap(true, std::sync::atomic::Ordering::Relaxed) {
                    eprintln!("autoscale: standard output failed ({e}): log lines are dropped from now on");
                }
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let _ = std::io::stdout().flush();
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for QuietStdout {
    type Writer = QuietStdout;

    fn make_writer(&'a self) -> Self::Writer {
        *self
    }
}

/// A logfmt subscriber writing to `writer`, not installed: tests set it as the default for
/// their thread to read what an in-process daemon printed.
pub fn subscriber<W>(
    filter: &str,
    writer: W,
) -> Result<impl tracing::Subscriber + Send + Sync + 'static, String>
where
    W: for<'a> tracing_subscriber::fmt::MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = env_filter(filter)?;
    Ok(tracing_subscriber::fmt()
        .with_ansi(false)
        .event_format(Logfmt)
        .with_writer(writer)
        .with_env_filter(filter)
        .finish())
}

/// [`init`] with another writer (the demo copies every line aside for its chart).
pub fn init_with<W>(filter: &str, writer: W) -> Result<(), String>
where
    W: for<'a> tracing_subscriber::fmt::MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = env_filter(filter)?;
    tracing_subscriber::fmt()
        .with_ansi(false)
        .event_format(Logfmt)
        .with_writer(writer)
        .with_env_filter(filter)
        .try_init()
        .map_err(|e| format!("cannot install the logger: {e}"))
}

/// Log lines kept in memory, as the daemon prints them: a writer for [`subscriber`] whose text
/// tests read back (unit tests, and the integration tests' in-process runs). Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

impl Captured {
    /// Makes this the current thread's subscriber at `filter` until the guard is dropped.
    pub fn install(&self, filter: &str) -> tracing::subscriber::DefaultGuard {
        let subscriber = subscriber(filter, self.clone()).expect("a valid filter");
        tracing::subscriber::set_default(subscriber)
    }

    /// Everything logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }

    /// The `event=name` lines so far.
    pub fn events(&self, name: &str) -> Vec<Line> {
        self.text()
            .lines()
            .filter_map(Line::parse)
            .filter(|l| l.event() == Some(name))
            .collect()
    }
}

/// The lines `emit` logs (at every level), as the daemon would print them: for unit tests.
#[cfg(test)]
pub(crate) fn captured(emit: impl FnOnce()) -> String {
    let captured = Captured::default();
    let subscriber = subscriber("trace", captured.clone()).expect("a valid filter");
    tracing::subscriber::with_default(subscriber, emit);
    captured.text()
}

/// Checks a filter without installing anything, so that configuration can
/// reject a bad value up front, alongside its other errors.
pub fn validate_filter(filter: &str) -> Result<(), String> {
    env_filter(filter).map(drop)
}

fn env_filter(filter: &str) -> Result<EnvFilter, String> {
    EnvFilter::try_new(filter).map_err(|e| format!("invalid log filter {filter:?}: {e}"))
}

/// Event formatter writing one logfmt line per event (see the module docs).
#[derive(Debug, Clone, Copy, Default)]
pub struct Logfmt;

impl<S, N> FormatEvent<S, N> for Logfmt
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut fields = Fields::default();
        event.record(&mut fields);

        // Build the whole line first so that it reaches the writer in one piece.
        let mut line = String::with_capacity(128);
        let ts = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        push_pair(&mut line, "ts", &ts);
        push_pair(&mut line, "level", level_name(event.metadata().level()));
        match &fields.event {
            Some(name) => {
                push_pair(&mut line, "event", name);
                // An [`crate::event::Event`]'s pairs, quoted already.
                if let Some(pairs) = fields.logfmt.take().filter(|p| !p.is_empty()) {
                    line.push(' ');
                    line.push_str(&pairs);
                }
            }
            None => {
                push_pair(&mut line, "event", "log");
                push_pair(&mut line, "target", event.metadata().target());
                if let Some(message) = fields.message.take() {
                    push_pair(&mut line, "message", &message);
                }
                // Only an event's pairs are trusted to be logfmt: another `logfmt` is a value.
                if let Some(value) = fields.logfmt.take() {
                    fields.others.insert(0, ("logfmt", value));
                }
            }
        }
        for (key, value) in &fields.others {
            push_pair(&mut line, key, value);
        }
        if let Some(message) = &fields.message {
            push_pair(&mut line, "message", message);
        }
        line.push('\n');
        writer.write_str(&line)
    }
}

fn level_name(level: &Level) -> &'static str {
    match *level {
        Level::TRACE => "trace",
        Level::DEBUG => "debug",
        Level::INFO => "info",
        Level::WARN => "warn",
        Level::ERROR => "error",
    }
}

/// Appends ` key=value` (no leading space for the first pair).
fn push_pair(line: &mut String, key: &str, value: &str) {
    if !line.is_empty() {
        line.push(' ');
    }
    line.push_str(&sanitize_key(key));
    line.push('=');
    line.push_str(&quote(value));
}

/// Keys are printed bare, so any character that would need quoting becomes
/// `_`; tracing allows arbitrary field names (`"a b" = 1`) and `r#type`.
fn sanitize_key(key: &str) -> Cow<'_, str> {
    let key = key.strip_prefix("r#").unwrap_or(key);
    if key.is_empty() {
        Cow::Borrowed("_")
    } else if key.chars().all(is_bare) {
        Cow::Borrowed(key)
    } else {
        Cow::Owned(
            key.chars()
                .map(|c| if is_bare(c) { c } else { '_' })
                .collect(),
        )
    }
}

/// Collects an event's fields as strings, splitting out `event`, `logfmt` (the pairs of an
/// [`crate::event::Event`], already quoted: see its module docs) and `message`.
#[derive(Default)]
struct Fields {
    event: Option<String>,
    logfmt: Option<String>,
    message: Option<String>,
    others: Vec<(&'static str, String)>,
}

impl Fields {
    fn put(&mut self, field: &Field, value: String) {
        match field.name() {
            "event" => self.event = Some(value),
            "logfmt" => self.logfmt = Some(value),
            "message" => self.message = Some(value),
            name => self.others.push((name, value)),
        }
    }
}

/// What a tracing event's line says after `ts=` and `level=`: `event`, its fields and
/// `message`, parsed (an [`crate::event::Event`]'s pairs as well as a macro's fields); `None`
/// for an event without an `event` field (a dependency's). For layers that watch the daemon's
/// events without printing them (`replay`): give the result to
/// [`crate::event::Event::from_line`].
pub fn event_line(event: &Event<'_>) -> Option<Line> {
    let mut fields = Fields::default();
    event.record(&mut fields);
    let mut pairs = vec![("event".to_owned(), fields.event?)];
    if let Some(text) = fields.logfmt.filter(|t| !t.is_empty()) {
        pairs.extend(Line::parse(&text)?.into_pairs());
    }
    pairs.extend(fields.others.into_iter().map(|(k, v)| (k.to_owned(), v)));
    if let Some(message) = fields.message {
        pairs.push(("message".to_owned(), message));
    }
    Some(Line { pairs })
}

impl Visit for Fields {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, value.to_string());
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, value.to_string());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, value.to_string());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, value.to_string());
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, value.to_owned());
    }

    /// Appends the source chain (`outer: inner`), because the outermost
    /// message alone ("error sending request") rarely says what went wrong.
    /// A source already spelled out at the end of its parent is not repeated.
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        let mut text = value.to_string();
        let mut source = value.source();
        while let Some(err) = source {
            let part = err.to_string();
            if !part.is_empty() && !text.ends_with(&part) {
                text.push_str(": ");
                text.push_str(&part);
            }
            source = err.source();
        }
        self.put(field, text);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, format!("{value:?}"));
    }
}

/// A value may be printed bare when it is made only of these characters; the
/// rest (spaces, controls, `"`, `=`, `\`) would make the line ambiguous.
fn is_bare(c: char) -> bool {
    !c.is_whitespace() && !c.is_control() && !matches!(c, '"' | '=' | '\\')
}

/// Quotes a value only when needed: bare when non-empty and made only of
/// printable non-space characters other than `"`, `=` and `\`; otherwise in
/// double quotes with `\"`, `\\`, `\n`, `\r`, `\t` escaped and other control
/// characters (and U+2028/U+2029, which some readers treat as line breaks)
/// written as `\u{..}`, so that a value can never split a line.
pub fn quote(value: &str) -> Cow<'_, str> {
    if !value.is_empty() && value.chars().all(is_bare) {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() || c == '\u{2028}' || c == '\u{2029}' => {
                // Writing to a String cannot fail.
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    Cow::Owned(out)
}

/// Parses a logfmt line into its `(key, value)` pairs, in order, unescaping
/// quoted values; `None` if the line is not logfmt. See [`Line::parse`].
pub fn parse(line: &str) -> Option<Vec<(String, String)>> {
    Line::parse(line).map(Line::into_pairs)
}

/// One parsed log line, for the `chart` subcommand and integration tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pairs: Vec<(String, String)>,
}

impl Line {
    /// Parses `key=value key="quoted \" value"` pairs separated by
    /// whitespace. Returns `None` for anything else (a bare word, an
    /// unterminated quote, an unknown escape, a stray `"`, an empty line), so
    /// that non-event output mixed into a log is skipped rather than misread.
    /// `key=` is accepted as an empty value, as other logfmt writers emit it.
    ///
    /// ```
    /// use autoscale::logfmt::Line;
    ///
    /// let line = Line::parse(r#"ts=2026-11-30T14:03:00.000Z level=warn event=probe status=500 error="HTTP 500""#).unwrap();
    /// assert_eq!(line.event(), Some("probe"));
    /// assert_eq!(line.get("error"), Some("HTTP 500"));
    /// assert!(Line::parse("Completed 200 OK in 3ms").is_none());
    /// ```
    pub fn parse(line: &str) -> Option<Line> {
        let mut pairs = Vec::new();
        let mut rest = line.trim();
        while !rest.is_empty() {
            let eq = rest.find(|c: char| !is_bare(c))?;
            if eq == 0 || !rest[eq..].starts_with('=') {
                return None;
            }
            let key = &rest[..eq];
            rest = &rest[eq + 1..];
            let value = if let Some(quoted) = rest.strip_prefix('"') {
                let (value, after) = unquote(quoted)?;
                rest = after;
                value
            } else {
                let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
                let bare = &rest[..end];
                if !bare.chars().all(is_bare) {
                    return None;
                }
                rest = &rest[end..];
                bare.to_owned()
            };
            if !rest.is_empty() && !rest.starts_with(char::is_whitespace) {
                return None;
            }
            pairs.push((key.to_owned(), value));
            rest = rest.trim_start();
        }
        if pairs.is_empty() {
            None
        } else {
            Some(Line { pairs })
        }
    }

    /// The value of the first `key` on the line. First wins so that a field
    /// an event happens to call `level` cannot shadow the real one.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The `event` field: what happened (`log` for dependency output).
    pub fn event(&self) -> Option<&str> {
        self.get("event")
    }

    /// All pairs, in line order.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// All pairs, in line order, by value.
    pub fn into_pairs(self) -> Vec<(String, String)> {
        self.pairs
    }
}

/// Reads a quoted value whose opening `"` is already consumed; returns the
/// unescaped value and the text after the closing `"`.
fn unquote(s: &str) -> Option<(String, &str)> {
    let mut out = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, &s[i + 1..])),
            '\\' => match chars.next()?.1 {
                '"' => out.push('"'),
                '\\' => out.push('\\'),
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                'u' => {
                    let (open, _) = chars.next()?;
                    let body = s[open..].strip_prefix('{')?;
                    let close = body.find('}')?;
                    let hex = &body[..close];
                    if hex.is_empty() || hex.len() > 6 {
                        return None;
                    }
                    out.push(char::from_u32(u32::from_str_radix(hex, 16).ok()?)?);
                    // Skip the hex digits and the closing brace.
                    for _ in 0..=hex.len() {
                        chars.next();
                    }
                }
                _ => return None,
            },
            c => out.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;
    use tracing::Level;

    /// Checks the output is one line with a valid `ts` and returns the rest.
    fn after_ts(output: &str) -> &str {
        let line = output.strip_suffix('\n').expect("line ends with \\n");
        assert!(!line.contains('\n'), "more than one line: {output:?}");
        let line = line.strip_prefix("ts=").expect("line starts with ts=");
        let (ts, rest) = line.split_once(' ').unwrap();
        assert_eq!(ts.len(), "2026-11-30T05:47:25.123Z".len(), "{ts}");
        assert!(ts.ends_with('Z'), "{ts}");
        assert_eq!(ts.as_bytes()[19], b'.', "{ts}");
        let parsed = chrono::DateTime::parse_from_rfc3339(ts).expect("RFC 3339 ts");
        assert_eq!(parsed.offset().local_minus_utc(), 0);
        rest
    }

    #[test]
    fn fields_in_recording_order() {
        let out = captured(|| {
            tracing::info!(
                event = "scale",
                from = 1u32,
                to = 3u32,
                reason = "startup",
                result = "ok"
            )
        });
        assert_eq!(
            after_ts(&out),
            "level=info event=scale from=1 to=3 reason=startup result=ok"
        );
    }

    #[test]
    fn message_goes_last() {
        let out = captured(|| {
            tracing::warn!(
                event = "config_warning",
                variable = "AUTOSCALE_SCHEDUL",
                "unknown variable; did you mean AUTOSCALE_SCHEDULE?"
            )
        });
        assert_eq!(
            after_ts(&out),
            "level=warn event=config_warning variable=AUTOSCALE_SCHEDUL \
             message=\"unknown variable; did you mean AUTOSCALE_SCHEDULE?\""
        );
    }

    #[test]
    fn spaces_quotes_and_empty_values() {
        let out = captured(|| {
            tracing::error!(
                event = "api_error",
                body = r#"{"id": "x"} a\b"#,
                empty = "",
                eq = "a=b",
                shown = %"display value"
            )
        });
        assert_eq!(
            after_ts(&out),
            r#"level=error event=api_error body="{\"id\": \"x\"} a\\b" empty="" eq="a=b" shown="display value""#
        );
    }

    #[test]
    fn multi_line_message_stays_on_one_line() {
        let out = captured(|| tracing::info!(event = "tick", "first\nsecond\r\n\tthird\u{1b}[0m"));
        assert_eq!(
            after_ts(&out),
            r#"level=info event=tick message="first\nsecond\r\n\tthird\u{1b}[0m""#
        );
    }

    #[test]
    fn numbers_and_bools() {
        let out = captured(|| {
            tracing::debug!(
                event = "health",
                ok = true,
                failed = false,
                delta = -2i64,
                ratio = 0.5f64,
                big = u64::MAX
            )
        });
        assert_eq!(
            after_ts(&out),
            "level=debug event=health ok=true failed=false delta=-2 ratio=0.5 big=18446744073709551615"
        );
    }

    #[test]
    fn dependency_event_without_event_field() {
        let out = captured(|| {
            tracing::event!(target: "hyper::proto", Level::DEBUG, "x y");
            tracing::event!(target: "reqwest::connect", Level::TRACE, host = "api", "dial");
        });
        let lines: Vec<&str> = out.split_inclusive('\n').collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(
            after_ts(lines[0]),
            r#"level=debug event=log target=hyper::proto message="x y""#
        );
        assert_eq!(
            after_ts(lines[1]),
            "level=trace event=log target=reqwest::connect message=dial host=api"
        );
    }

    #[test]
    fn error_values_include_their_sources() {
        #[derive(Debug)]
        struct Outer(io::Error);
        impl fmt::Display for Outer {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("request failed")
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let err = Outer(io::Error::other("connection refused"));
        let out = captured(|| {
            tracing::error!(
                event = "api_error",
                error = &err as &(dyn std::error::Error + 'static)
            )
        });
        assert_eq!(
            after_ts(&out),
            r#"level=error event=api_error error="request failed: connection refused""#
        );
    }

    #[test]
    fn output_parses_back() {
        let out = captured(|| tracing::info!(event = "scale", to = 3u32, "now \"3\" dynos"));
        let line = Line::parse(out.trim_end()).unwrap();
        assert_eq!(line.event(), Some("scale"));
        assert_eq!(line.get("level"), Some("info"));
        assert_eq!(line.get("to"), Some("3"));
        assert_eq!(line.get("message"), Some("now \"3\" dynos"));
        assert_eq!(line.get("missing"), None);
        assert!(line.get("ts").is_some());
    }

    #[test]
    fn quote_leaves_simple_values_bare() {
        assert_eq!(quote("ok"), Cow::Borrowed("ok"));
        assert!(matches!(quote("web:3"), Cow::Borrowed("web:3")));
        assert_eq!(quote("héllo"), "héllo");
        assert_eq!(quote(""), r#""""#);
        assert_eq!(quote("a b"), r#""a b""#);
        assert_eq!(quote("a=b"), r#""a=b""#);
        assert_eq!(quote("\u{7f}"), r#""\u{7f}""#);
        assert_eq!(quote("\u{2028}"), r#""\u{2028}""#);
    }

    #[test]
    fn quote_then_parse_round_trips() {
        let tricky = [
            "",
            "plain",
            "two words",
            "\"",
            "\\",
            "\\\"",
            "ends with backslash\\",
            "a=b",
            "=",
            "line\nbreak\r\n",
            "\ttab",
            "\u{0}\u{1b}[31m\u{7f}\u{85}",
            "\u{2028}\u{2029}",
            "ünïcödé ✓ 日本",
            "\u{a0}nbsp",
            "key=\"value\" other=x",
            "\\u{41}",
        ];
        for value in tricky {
            let line = format!("k={} z=1", quote(value));
            assert!(!line.contains('\n'), "{line:?}");
            let pairs = parse(&line).unwrap_or_else(|| panic!("unparsable: {line:?}"));
            assert_eq!(
                pairs,
                vec![
                    ("k".to_owned(), value.to_owned()),
                    ("z".to_owned(), "1".to_owned())
                ],
                "{line:?}"
            );
        }
    }

    #[test]
    fn parse_accepts_logfmt() {
        let pairs = parse(r#"  a=1  b="x \"y\" \\ \u{e9}"	c= "#).unwrap();
        assert_eq!(
            pairs,
            vec![
                ("a".to_owned(), "1".to_owned()),
                ("b".to_owned(), "x \"y\" \\ é".to_owned()),
                ("c".to_owned(), String::new()),
            ]
        );
    }

    #[test]
    fn parse_rejects_garbage() {
        for garbage in [
            "",
            "   ",
            "hello world",
            "thread 'main' panicked at src/main.rs:1:1:",
            "a=1 bare",
            "=value",
            "a=\"unterminated",
            "a=\"ends in escape\\",
            "a=\"bad escape \\q\"",
            "a=\"bad unicode \\u{110000}\"",
            "a=\"bad unicode \\u{zz}\"",
            "a=\"no brace \\u41\"",
            "a=\"x\"b=1",
            "a=b\"c",
            "a=b=c",
            "k\"ey=1",
        ] {
            assert_eq!(Line::parse(garbage), None, "{garbage:?}");
        }
    }

    #[test]
    fn sanitizes_odd_keys() {
        assert_eq!(sanitize_key("r#type"), "type");
        assert_eq!(sanitize_key("a b=c"), "a_b_c");
        assert_eq!(sanitize_key(""), "_");
        assert_eq!(sanitize_key("http.status"), "http.status");
    }

    #[test]
    fn filters_are_validated() {
        assert_eq!(validate_filter(DEFAULT_FILTER), Ok(()));
        assert_eq!(validate_filter("autoscale=debug,hyper=off"), Ok(()));
        let err = validate_filter("info,[").unwrap_err();
        assert!(err.contains("invalid log filter"), "{err}");
    }
}
