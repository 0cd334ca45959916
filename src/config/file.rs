//! The configuration file: many targets (every process type of every app) in one TOML file.
//!
//! ```toml
//! [defaults]                 # any target key, for every target
//! tz = "Europe/Berlin"
//!
//! [[target]]
//! app = "shop"
//! process = "web"
//! schedule = "07:00=3; 22:00=2; 03:00=1"
//! max = 6
//! ```
//!
//! Keys are the variables' names without `AUTOSCALE_`, in lower case ([`super::field`] lists
//! them). A target's key wins over `[defaults]`, which wins over the environment variable, which
//! wins over the built-in default. Secrets stay in the environment.

use toml::{Table, Value as Toml};

use super::field::{self, Field, CONFIG};
use super::{ConfigError, FeedCache, Lookup, Place, Raw, Target, Value};

/// Largest configuration file read (a thousand targets take ~200 KB).
pub const MAX_FILE_BYTES: u64 = 4 << 20;
/// Most targets one configuration may hold.
pub const MAX_TARGETS: usize = 10_000;
/// Longest path AUTOSCALE_CONFIG may name (Linux's PATH_MAX).
const MAX_PATH: usize = 4096;
/// Longest key shown in an error (no real key is longer than 20 characters).
const MAX_KEY_SHOWN: usize = 64;
/// Where the file is looked for when AUTOSCALE_CONFIG is not set.
pub const DEFAULT_FILE: &str = "autoscale.toml";

const EXAMPLE: &str =
    "[[target]] app = \"my-app\" process = \"web\" schedule = \"07:00=3; 22:00=1\"";

/// Where the targets come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// No file: the one target the variables describe.
    Environment,
    /// A file (`name` is its path) or the TOML text in AUTOSCALE_CONFIG itself (`name` is
    /// `AUTOSCALE_CONFIG`).
    File { name: String, text: String },
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Environment => f.write_str("environment"),
            Source::File { name, .. } => f.write_str(name),
        }
    }
}

/// A key as an error shows it: cut after [`MAX_KEY_SHOWN`] characters.
fn shown_key(key: &str) -> String {
    match key.char_indices().nth(MAX_KEY_SHOWN) {
        Some((at, _)) => format!("{}…", &key[..at]),
        None => key.to_owned(),
    }
}

fn file_error(name: &str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        place: name.to_owned(),
        variable: CONFIG,
        value: None,
        problem: problem.into(),
        example: EXAMPLE.to_owned(),
    }
}

impl Source {
    /// AUTOSCALE_CONFIG: a path, or the TOML text itself (a value with a newline); else
    /// `autoscale.toml` in the working directory when it exists.
    pub fn resolve(raw: &Raw) -> Result<Source, ConfigError> {
        let given = raw.value(CONFIG);
        let (path, explicit) = match &given {
            Some(v) if v.text.contains('\n') => {
                return Ok(Source::File {
                    name: CONFIG.to_owned(),
                    text: v.text.clone(),
                })
            }
            // A path, not the text: a path that long is not one (and is never echoed).
            Some(v) if v.text.len() > MAX_PATH => {
                return Err(v.place.err(
                    None,
                    super::too_long(v.text.len(), MAX_PATH),
                    DEFAULT_FILE,
                ))
            }
            Some(v) if !v.trimmed().is_empty() => (v.trimmed().to_owned(), true),
            _ => (DEFAULT_FILE.to_owned(), false),
        };
        let read = std::fs::metadata(&path).and_then(|m| {
            if m.len() > MAX_FILE_BYTES {
                Err(std::io::Error::other(format!(
                    "larger than {} MiB",
                    MAX_FILE_BYTES >> 20
                )))
            } else {
                std::fs::read(&path)
            }
        });
        match read {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => Ok(Source::File { name: path, text }),
                Err(_) => Err(file_error(&path, "is not UTF-8 text")),
            },
            Err(e) if !explicit && e.kind() == std::io::ErrorKind::NotFound => {
                Ok(Source::Environment)
            }
            Err(e) => Err(given
                .expect("an explicit path")
                .err(format!("cannot read the file ({e})"), DEFAULT_FILE)),
        }
    }
}

/// A TOML value as the same text a variable would hold.
fn text(value: &Toml) -> Option<String> {
    match value {
        Toml::String(s) => Some(s.clone()),
        Toml::Integer(i) => Some(i.to_string()),
        Toml::Float(f) => Some(f.to_string()),
        Toml::Boolean(b) => Some(b.to_string()),
        Toml::Datetime(d) => Some(d.to_string()),
        Toml::Array(_) | Toml::Table(_) => None,
    }
}

/// Every value of a table within its setting's [`field::max_len`] (before the app's name is put
/// into any error's place).
fn check_lengths(name: &str, section: &str, table: &Table) -> Result<(), ConfigError> {
    for (key, value) in table {
        let (Some(f), Some(text)) = (field::by_key(key), text(value)) else {
            continue;
        };
        let max = field::max_len(f.var);
        if text.len() > max {
            return Err(ConfigError {
                place: format!("{name}: {section}: {key}"),
                variable: f.var,
                value: None,
                problem: super::too_long(text.len(), max),
                example: format!("{key} = {}", toml_value(Some(f))),
            });
        }
    }
    Ok(())
}

/// Checks a table's keys and value types: an unknown key names the closest known one.
fn check_keys(name: &str, section: &str, table: &Table) -> Result<(), ConfigError> {
    for (key, value) in table {
        let Some(f) = field::by_key(key) else {
            // A secret's key (heroku_api_key, history, notify_webhook, ...): its place is the
            // environment, and the example says so.
            let secret = field::FIELDS.iter().find(|f| {
                f.secret
                    && (f.var.eq_ignore_ascii_case(key)
                        || f.var
                            .trim_start_matches("AUTOSCALE_")
                            .eq_ignore_ascii_case(key))
            });
            let (problem, example) = match secret {
                Some(f) => (
                    format!(
                        "secrets stay in the environment, never in the file: set {} instead",
                        f.var
                    ),
                    format!("heroku config:set {}={}", f.var, f.example),
                ),
                None => {
                    let closest =
                        field::closest(&shown_key(key), field::keys()).unwrap_or("schedule");
                    (
                        format!("unknown key; did you mean {closest}?"),
                        format!("{closest} = {}", toml_value(field::by_key(closest))),
                    )
                }
            };
            return Err(ConfigError {
                place: format!("{name}: {section}: {}", shown_key(key)),
                variable: CONFIG,
                value: None,
                problem,
                example,
            });
        };
        if text(value).is_none() {
            return Err(ConfigError {
                place: format!("{name}: {section}: {key}"),
                variable: f.var,
                value: None,
                problem: "must be a string, a number or a boolean".to_owned(),
                example: format!("{key} = {}", toml_value(Some(f))),
            });
        }
    }
    Ok(())
}

fn toml_value(f: Option<&Field>) -> String {
    let example = f.map_or("07:00=3", |f| f.example);
    super::toml_example(example)
}

/// One target's settings: its table, then `[defaults]`, then the environment.
struct FileLookup<'a> {
    name: &'a str,
    section: String,
    target: &'a Table,
    defaults: Option<&'a Table>,
    raw: &'a Raw,
}

impl Lookup for FileLookup<'_> {
    fn value(&self, var: &str) -> Option<Value<'_>> {
        let f = field::field(var);
        if let Some(key) = f.key {
            for (table, section) in [
                (Some(self.target), self.section.clone()),
                (self.defaults, "[defaults]".to_owned()),
            ] {
                if let Some(text) = table.and_then(|t| t.get(key)).and_then(text) {
                    return Some(Value {
                        text,
                        place: Place::File {
                            file: self.name,
                            section,
                            key,
                        },
                    });
                }
            }
        }
        self.raw.value(var)
    }
}

/// The targets of a configuration file.
pub fn targets(
    name: &str,
    text: &str,
    raw: &Raw,
    default_app: Option<&str>,
    shards: u32,
    feeds: &mut FeedCache,
) -> Result<Vec<Target>, ConfigError> {
    let doc: Table = toml::from_str(text).map_err(|e| {
        let at = e
            .span()
            .map(|span| {
                let before = &text[..span.start.min(text.len())];
                let line = before.matches('\n').count() + 1;
                let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
                format!(" at line {line}, column {column}")
            })
            .unwrap_or_default();
        let message = e.message().replace('\n', " ");
        file_error(name, format!("is not valid TOML{at}: {}", message.trim()))
    })?;
    for key in doc.keys() {
        if key != "defaults" && key != "target" {
            let closest =
                field::closest(key, ["target", "defaults"].into_iter()).unwrap_or("target");
            return Err(file_error(
                name,
                format!("unknown table or key {:?} at the top level; did you mean [[{closest}]]? (only [defaults] and [[target]] tables)", shown_key(key)),
            ));
        }
    }
    let defaults = match doc.get("defaults") {
        None => None,
        Some(Toml::Table(t)) => Some(t),
        Some(_) => return Err(file_error(name, "defaults must be a table: [defaults]")),
    };
    if let Some(d) = defaults {
        check_keys(name, "[defaults]", d)?;
    }
    let tables: Vec<&Table> = match doc.get("target") {
        Some(Toml::Array(items)) => items
            .iter()
            .map(|item| match item {
                Toml::Table(t) => Ok(t),
                _ => Err(file_error(name, "each target must be a [[target]] table")),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(file_error(
                name,
                "targets are [[target]] tables (double brackets)",
            ))
        }
        None => {
            return Err(file_error(
                name,
                "has no [[target]] table: nothing to scale",
            ))
        }
    };
    if tables.len() > MAX_TARGETS {
        return Err(file_error(
            name,
            format!(
                "has {} targets; at most {MAX_TARGETS} (split them over several apps' clock dynos)",
                tables.len()
            ),
        ));
    }
    if let Some(d) = defaults {
        check_lengths(name, "[defaults]", d)?;
    }
    for (i, table) in tables.iter().enumerate() {
        check_lengths(name, &format!("target {}", i + 1), table)?;
    }
    let mut targets: Vec<Target> = Vec::with_capacity(tables.len());
    for (i, table) in tables.into_iter().enumerate() {
        let plain = |var: &str| {
            FileLookup {
                name,
                section: String::new(),
                target: table,
                defaults,
                raw,
            }
            .value(var)
            .map(|v| v.text.trim().to_owned())
        };
        let app = plain(field::APP).or_else(|| default_app.map(str::to_owned));
        let process = plain(field::PROCESS).unwrap_or_else(|| "web".to_owned());
        let section = format!(
            "target {} ({}/{process})",
            i + 1,
            app.as_deref().unwrap_or("?")
        );
        check_keys(name, &section, table)?;
        if app.is_none() {
            return Err(ConfigError {
                place: format!("{name}: {section}: app"),
                variable: field::APP,
                value: None,
                problem: "is not set (in the target, [defaults], AUTOSCALE_APP or HEROKU_APP_NAME)"
                    .to_owned(),
                example: "app = \"my-app\"".to_owned(),
            });
        }
        let lookup = FileLookup {
            name,
            section: section.clone(),
            target: table,
            defaults,
            raw,
        };
        let target = super::target_sharing(&lookup, default_app, shards, feeds)?;
        if let Some(j) = targets
            .iter()
            .position(|t| t.app == target.app && t.process == target.process)
        {
            return Err(ConfigError {
                place: format!("{name}: {section}"),
                variable: field::PROCESS,
                value: None,
                problem: format!(
                    "the same app and process as target {}: each process type is one target",
                    j + 1
                ),
                example: "process = \"worker\" (or app = \"another-app\")".to_owned(),
            });
        }
        targets.push(target);
    }
    Ok(targets)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{CheckUrl, Env};

    const TWO: &str = r#"
[defaults]
tz = "Europe/Berlin"

[[target]]
app = "shop"
process = "web"
schedule = "07:00=3; 22:00=2; 03:00=1"
max = 6

[[target]]
app = "shop"
process = "worker"
schedule = "0 8 * * 1-5=4; 0 18 * * 1-5=1; 0 9 * * 6,0=1"
"#;

    fn parse(text: &str, raw: &Raw) -> Result<Vec<Target>, ConfigError> {
        targets(
            "autoscale.toml",
            text,
            raw,
            None,
            1,
            &mut FeedCache::default(),
        )
    }

    #[test]
    fn the_contract_example_gives_two_targets_with_defaults_applied() {
        let t = parse(TWO, &Raw::default()).unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!((t[0].app.as_str(), t[0].process.as_str()), ("shop", "web"));
        assert_eq!(t[0].thresholds.max, 6);
        assert_eq!(t[0].schedule.tz(), chrono_tz::Europe::Berlin);
        assert_eq!(t[0].check.url, CheckUrl::FromApp);
        assert_eq!(t[1].process, "worker");
        assert_eq!(t[1].thresholds.max, 4);
        assert_eq!(t[1].schedule.tz(), chrono_tz::Europe::Berlin);
        assert_eq!(t[1].check.url, CheckUrl::Off, "no web_url for a worker");
    }

    #[test]
    fn targets_with_the_same_holidays_and_zone_share_one_set_of_feeds() {
        let text = r#"
[defaults]
holidays = "https://example.com/holidays.ics"

[[target]]
app = "shop"

[[target]]
app = "shop"
process = "worker"

[[target]]
app = "blog"
tz = "Europe/Berlin"
"#;
        let t = parse(text, &Raw::default()).unwrap();
        let feeds: Vec<_> = t.iter().map(|t| t.holidays.clone().unwrap()).collect();
        assert!(std::sync::Arc::ptr_eq(&feeds[0], &feeds[1]));
        assert!(
            !std::sync::Arc::ptr_eq(&feeds[0], &feeds[2]),
            "another zone"
        );
        // Each resolution has its own: nothing is kept between two of them.
        let again = parse(text, &Raw::default()).unwrap();
        assert!(!std::sync::Arc::ptr_eq(
            &feeds[0],
            again[0].holidays.as_ref().unwrap()
        ));
    }

    #[test]
    fn precedence_is_target_then_defaults_then_environment_then_default() {
        let raw = Raw::from_pairs([
            (field::TZ, "America/New_York"),
            (field::SLOW, "4s"),
            (field::CHECK_INTERVAL, "1m"),
        ]);
        let text = r#"
[defaults]
slow = "3s"
[[target]]
app = "a"
slow = "2s"
[[target]]
app = "b"
"#;
        let t = parse(text, &raw).unwrap();
        assert_eq!(t[0].check.slow.as_secs(), 2);
        assert_eq!(t[1].check.slow.as_secs(), 3);
        assert_eq!(t[1].check.interval.as_secs(), 60);
        assert_eq!(t[1].schedule.tz(), chrono_tz::America::New_York);
        assert_eq!(t[1].check.timeout.as_secs(), 10);
    }

    #[test]
    fn errors_name_the_file_the_target_and_the_key_with_an_example() {
        let cases = [
            (
                "[[target]]\napp = \"shop\"\nprocess = \"worker\"\nmax = \"lots\"\n",
                r#"autoscale.toml: target 1 (shop/worker): max="lots": must be a whole number of at least 1; example: max = 4"#,
            ),
            (
                "[[target]]\napp = \"a\"\n[[target]]\napp = \"shop\"\nprocess = \"worker\"\nshedule = \"07:00=1\"\n",
                "autoscale.toml: target 2 (shop/worker): shedule: unknown key; did you mean schedule?; example: schedule = \"07:00=3; 22:00=2; 03:00=1\"",
            ),
            (
                "[defaults]\ntz = \"Mars\"\n[[target]]\napp = \"a\"\n",
                "autoscale.toml: [defaults]: tz=\"Mars\"",
            ),
            (
                "[[target]]\napp = \"a\"\n[[target]]\napp = \"a\"\n",
                "autoscale.toml: target 2 (a/web): the same app and process as target 1",
            ),
            ("[[target]]\nprocess = \"web\"\n", "target 1 (?/web): app: is not set"),
            ("[[target]]\napp = \"a\"\nmax = [1]\n", "target 1 (a/web): max: must be a string"),
            (
                "[[target]]\napp = \"a\"\nheroku_api_key = \"x\"\n",
                "heroku_api_key: secrets stay in the environment, never in the file: set HEROKU_API_KEY instead; example: heroku config:set HEROKU_API_KEY=$(heroku authorizations:create -S -d autoscale)",
            ),
            (
                "[[target]]\napp = \"a\"\nnotify_webhook = \"x\"\n",
                "example: heroku config:set AUTOSCALE_NOTIFY_WEBHOOK=https://hooks.slack.com/",
            ),
            ("[target]\napp = \"a\"\n", "[[target]] tables (double brackets)"),
            ("[[targets]]\napp = \"a\"\n", "did you mean [[target]]?"),
            ("", "has no [[target]] table"),
            ("[[target]\napp=", "is not valid TOML at line 1"),
        ];
        for (text, needle) in cases {
            let e = parse(text, &Raw::default()).unwrap_err().to_string();
            assert!(e.contains(needle), "{e:?}\nlacks {needle:?}");
            assert!(!e.contains('\n'), "{e:?}");
            assert!(e.contains("example: "), "{e:?}");
        }
    }

    #[test]
    fn a_value_or_key_of_a_megabyte_is_refused_before_parsing_and_never_echoed() {
        let huge = "x".repeat(1 << 20);
        let cases = [
            (
                format!("[[target]]\napp = \"{huge}\"\n"),
                "autoscale.toml: target 1: app: the value is too long (1048576 bytes; at most 256), not shown; example: app = \"my-app\"",
            ),
            (
                format!("[defaults]\ntz = \"{huge}\"\n[[target]]\napp = \"a\"\n"),
                "autoscale.toml: [defaults]: tz: the value is too long (1048576 bytes; at most 256)",
            ),
            (
                format!("[[target]]\napp = \"a\"\n{huge} = 1\n"),
                "unknown key; did you mean",
            ),
        ];
        for (text, needle) in cases {
            let e = parse(&text, &Raw::default()).unwrap_err().to_string();
            assert!(
                e.contains(needle),
                "{:?}\nlacks {needle:?}",
                &e[..e.len().min(300)]
            );
            assert!(e.len() < 400, "{} bytes", e.len());
        }
        let long_path = Raw::from_pairs([(CONFIG, huge.as_str())]);
        let e = Source::resolve(&long_path).unwrap_err().to_string();
        assert!(
            e.contains("too long") && e.len() < 300,
            "{}",
            &e[..e.len().min(300)]
        );
    }

    #[test]
    fn numbers_booleans_and_dates_read_like_variables() {
        let text = "[[target]]\napp = \"a\"\nmax = 5\ndry_run = true\nscale_in_after = 2\n";
        let t = &parse(text, &Raw::default()).unwrap()[0];
        assert_eq!(t.thresholds.max, 5);
        assert!(t.dry_run);
        assert_eq!(t.thresholds.scale_in_after, Some(2));
    }

    #[test]
    fn the_source_is_inline_text_a_path_or_none() {
        let inline = Raw::from_pairs([(CONFIG, "[[target]]\napp = \"a\"\n")]);
        assert!(
            matches!(Source::resolve(&inline).unwrap(), Source::File { name, .. } if name == CONFIG)
        );
        let missing = Raw::from_pairs([(CONFIG, "/nonexistent/autoscale.toml")]);
        let e = Source::resolve(&missing).unwrap_err().to_string();
        assert!(
            e.starts_with(
                "AUTOSCALE_CONFIG (--config)=\"/nonexistent/autoscale.toml\": cannot read the file"
            ),
            "{e}"
        );
        let dir = std::env::temp_dir().join(format!("autoscale-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("x.toml");
        std::fs::write(&path, TWO).unwrap();
        let raw = Raw::from_pairs([(CONFIG, path.to_str().unwrap())]);
        let source = Source::resolve(&raw).unwrap();
        let crate::config::Targets { all, .. } =
            crate::config::targets(&raw, &Env::default()).unwrap();
        assert_eq!(all.len(), 2);
        assert!(matches!(source, Source::File { name, .. } if name.ends_with("x.toml")));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
