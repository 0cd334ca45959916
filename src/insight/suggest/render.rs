//! Render: the suggestion for people (text), for programs (JSON) and as settings (env lines,
//! a `[[target]]` block).

use std::fmt::Write as _;

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};

use super::{Money, ShortHour, Suggestion, DAY_MINUTES};

impl Suggestion {
    /// The settings as environment lines (`.env`, `heroku config:set`), quoted for a shell.
    pub fn env(&self) -> String {
        format!(
            "AUTOSCALE_SCHEDULE=\"{}\"\nAUTOSCALE_TZ={}\n",
            self.schedule, self.tz
        )
    }

    /// The settings as a `[[target]]` block of the configuration file.
    pub fn toml(&self, app: &str, process: &str) -> String {
        format!(
            "[[target]]\napp = {}\nprocess = {}\nschedule = {}\ntz = {}\n",
            toml_string(app),
            toml_string(process),
            toml_string(&self.schedule),
            toml_string(&self.tz)
        )
    }
}

/// A TOML basic string.
pub(super) fn toml_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

pub(super) fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A span as people read it: `23h 59m`, `1 day`, `6 days 23h 59m`.
pub(super) fn humanize(span: TimeDelta) -> String {
    let minutes = span.num_minutes().max(0);
    let (days, hours, minutes) = (minutes / DAY_MINUTES, minutes / 60 % 24, minutes % 60);
    let mut parts = Vec::new();
    if days > 0 {
        parts.push(format!("{days} day{}", plural(days as usize)));
    }
    if hours > 0 {
        parts.push(format!("{hours}h"));
    }
    if minutes > 0 || parts.is_empty() {
        parts.push(format!("{minutes}m"));
    }
    parts.join(" ")
}

pub(super) fn round_to(x: f64, per_unit: f64) -> f64 {
    (x * per_unit).round() / per_unit
}

pub(super) fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// The suggestion for a person: the settings, the table by hour and weekday, dyno-hours and
/// costs, the hours the current schedule runs short, warnings.
pub fn render_text(s: &Suggestion) -> String {
    let mut out = String::new();
    let o = &s.options;
    let _ = writeln!(
        out,
        "suggested from {} of traffic ({} to {}, {} minutes with requests), zone {}",
        humanize(TimeDelta::minutes(s.traffic.minutes as i64)),
        s.traffic.from,
        s.traffic.to,
        s.traffic.minutes_with_traffic,
        s.tz
    );
    let _ = writeln!(
        out,
        "concurrency {} at {} % utilization, headroom {} %, lead {}, lag {}, simplify {} %, min {}, max {}",
        o.concurrency,
        round_to(o.utilization * 100.0, 10.0),
        round_to(o.headroom * 100.0, 10.0),
        humantime::format_duration(o.lead),
        humantime::format_duration(o.lag),
        round_to(o.simplify * 100.0, 10.0),
        o.min,
        o.max.map_or("none".to_owned(), |m| m.to_string()),
    );
    let _ = writeln!(out, "\n{}", s.env());
    render_table(&mut out, s);

    let d = &s.dyno_hours_per_week;
    let mut line = format!("dyno-hours per week   {:.1} suggested", d.suggested);
    if let Some(current) = d.current {
        let _ = write!(line, ", {current:.1} with the current schedule");
    }
    let _ = write!(line, ", {:.1} always at the peak of {}", d.at_peak, s.peak);
    if let (Some(at_max), Some(max)) = (d.at_max, o.max) {
        let _ = write!(line, ", {at_max:.1} always at max {max}");
    }
    let _ = writeln!(out, "{line}");
    if let Some(c) = &s.cost {
        let money = |m: &Money| format!("{:.2} a week ({:.2} a month)", m.per_week, m.per_month);
        let at = if c.list_prices {
            format!(
                "at Heroku's list prices ({:.4} per dyno-hour, the current schedule's sizes; --price overrides)",
                c.price_per_dyno_hour
            )
        } else {
            format!("at {} per dyno-hour", c.price_per_dyno_hour)
        };
        let mut line = format!("cost {at}   {} suggested", money(&c.suggested));
        if let Some(current) = &c.current {
            let _ = write!(line, ", {} with the current schedule", money(current));
        }
        let _ = write!(line, ", {} at the peak", money(&c.at_peak));
        if let Some(at_max) = &c.at_max {
            let _ = write!(line, ", {} at max", money(at_max));
        }
        let _ = writeln!(out, "{line}");
    }

    if let Some(current) = &s.current {
        if s.short.is_empty() {
            let _ = writeln!(
                out,
                "\nthe current schedule ({current}) runs at least what the traffic needed in every hour of the week"
            );
        } else {
            let _ = writeln!(
                out,
                "\nthe current schedule ({current}) runs fewer dynos than the traffic needed in {} hour{} of the week:",
                s.short.len(),
                plural(s.short.len())
            );
            for run in short_runs(&s.short) {
                let _ = writeln!(out, "  {run}");
            }
        }
    }
    for w in &s.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    out
}

/// Hours by row, weekdays by column; each cell the dynos needed and the busy p95, marked `!`
/// where the current schedule runs fewer and `~` where the hour was not in the traffic.
pub(super) fn render_table(out: &mut String, s: &Suggestion) {
    let needed_width = s.hours.iter().map(|h| digits(h.needed)).max().unwrap_or(1);
    let busy_width = s
        .hours
        .iter()
        .map(|h| format!("{:.2}", h.busy_p95).len())
        .max()
        .unwrap_or(4);
    let figures_width = needed_width + 1 + busy_width;
    let _ = writeln!(
        out,
        "dynos needed and busy (p95 of the hour's minutes, {}), by local hour",
        s.busy_of
    );
    let mut header = "hour".to_owned();
    for h in s.hours.iter().step_by(24) {
        let _ = write!(header, "  {:>figures_width$} ", h.weekday);
    }
    let _ = writeln!(out, "{}", header.trim_end());
    for hour in 0..24 {
        let mut row = format!("{hour:02}  ");
        for h in s.hours.iter().skip(hour).step_by(24) {
            let mark = if h.current.is_some_and(|c| c < h.needed) {
                '!'
            } else if h.minutes == 0 {
                '~'
            } else {
                ' '
            };
            let _ = write!(
                row,
                "  {:>needed_width$} {:>busy_width$.2}{mark}",
                h.needed, h.busy_p95
            );
        }
        let _ = writeln!(out, "{}", row.trim_end());
    }
    let mut legend = Vec::new();
    if s.hours
        .iter()
        .any(|h| h.current.is_some_and(|c| c < h.needed))
    {
        legend.push("! the current schedule runs fewer");
    }
    if s.hours.iter().any(|h| h.minutes == 0) {
        legend.push("~ not in the traffic: borrowed from the same hour of other days");
    }
    if !legend.is_empty() {
        let _ = writeln!(out, "{}", legend.join("   "));
    }
    out.push('\n');
}

pub(super) fn digits(n: u32) -> usize {
    n.to_string().len()
}

/// Short hours as runs within a day with the same figures: `Mon 08:00-10:00   needs 4, runs 3`.
pub(super) fn short_runs(short: &[ShortHour]) -> Vec<String> {
    let mut runs: Vec<(&ShortHour, u32)> = Vec::new();
    for s in short {
        match runs.last_mut() {
            Some((first, end))
                if first.weekday == s.weekday
                    && *end == s.hour
                    && (first.needed, first.current) == (s.needed, s.current) =>
            {
                *end += 1;
            }
            _ => runs.push((s, s.hour + 1)),
        }
    }
    runs.iter()
        .map(|(first, end)| {
            format!(
                "{} {:02}:00-{end:02}:00   needs {}, runs {}",
                first.weekday, first.hour, first.needed, first.current
            )
        })
        .collect()
}

/// The suggestion as JSON: the same content as [`render_text`].
pub fn render_json(s: &Suggestion) -> serde_json::Value {
    serde_json::to_value(s).unwrap_or_default()
}
