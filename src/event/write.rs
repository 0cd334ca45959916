//! An event written: its pairs in line order, its message, and the tracing event that carries
//! them to the `Logfmt` formatter.

use std::borrow::Cow;
use std::fmt::Display;

use tracing::Level;

use super::*;

/// The pairs of a line, in order, values unquoted.
struct Pairs(Vec<(&'static str, String)>);

impl Pairs {
    fn put(&mut self, key: &'static str, value: impl Display) -> &mut Self {
        self.0.push((key, value.to_string()));
        self
    }

    /// Left out when `None`.
    fn opt<T: Display>(&mut self, key: &'static str, value: &Option<T>) -> &mut Self {
        if let Some(v) = value {
            self.put(key, v);
        }
        self
    }

    /// Written empty when `None`.
    fn blank<T: Display>(&mut self, key: &'static str, value: &Option<T>) -> &mut Self {
        match value {
            Some(v) => self.put(key, v),
            None => self.put(key, ""),
        }
    }
}

impl Event {
    /// The `event=` name.
    pub fn name(&self) -> &'static str {
        match self {
            Event::Start { .. } | Event::StartIdle { .. } => names::START,
            Event::Budget { .. } | Event::BudgetRate { .. } => names::BUDGET,
            Event::Probe { .. } => names::PROBE,
            Event::Scale { .. } => names::SCALE,
            Event::ScaleSkip { .. } => names::SCALE_SKIP,
            Event::Hold { .. } => names::HOLD,
            Event::HoldEnd { .. } => names::HOLD_END,
            Event::TargetDisabled { .. } => names::TARGET_DISABLED,
            Event::ApiError { .. } => names::API_ERROR,
            Event::RateLimit { .. } => names::RATE_LIMIT,
            Event::Notify { .. } => names::NOTIFY,
            Event::Shutdown { .. } => names::SHUTDOWN,
            Event::Traffic { .. } => names::TRAFFIC,
            Event::TrafficStream { .. } => names::TRAFFIC_STREAM,
            Event::HolidaysFeed { .. } => names::HOLIDAYS_FEED,
            Event::History(_) => names::HISTORY,
            Event::HistoryBatch { .. } => names::HISTORY_BATCH,
            Event::Fatal { .. } => names::FATAL,
            Event::ChecksOff { .. } => names::CHECKS_OFF,
            Event::ConfigWarning { .. } => names::CONFIG_WARNING,
            Event::SchedulerError { .. } => names::SCHEDULER_ERROR,
            Event::ScheduleDone => names::SCHEDULE_DONE,
            Event::Queue { .. } => names::QUEUE,
            Event::QueueSource { .. } => names::QUEUE_SOURCE,
            Event::Drain { .. } => names::DRAIN,
        }
    }

    /// The line's `message` (written last), if it has one: a fixed text for a human, or a
    /// field of the event (an error's message, a warning).
    pub fn message(&self) -> Option<Cow<'_, str>> {
        fn fixed(text: &'static str) -> Option<Cow<'static, str>> {
            Some(Cow::Borrowed(text))
        }
        fn field(text: &Option<String>) -> Option<Cow<'_, str>> {
            text.as_deref().map(Cow::Borrowed)
        }
        match self {
            Event::StartIdle { .. } => {
                fixed("no app of the configuration belongs to this shard: nothing to do")
            }
            Event::BudgetRate { state, .. } => Some(Cow::Borrowed(match state {
                BudgetState::Halved => "Heroku's rate limit is low: formation reads halved",
                BudgetState::Normal => "Heroku's rate limit is back: formation reads as planned",
            })),
            Event::Scale { message, .. } | Event::Budget { message, .. } => field(message),
            Event::Hold { reason, .. } => fixed(match reason {
                HoldReason::Manual => "a quantity set by someone else is kept",
                HoldReason::Pause => {
                    "paused: every decision is logged (result=paused), nothing is sent"
                }
                HoldReason::Deploy => "unhealthy checks right after a release do not scale out",
            }),
            Event::TargetDisabled { message, .. }
            | Event::ApiError { message, .. }
            | Event::Fatal { message, .. }
            | Event::ChecksOff { message, .. }
            | Event::ConfigWarning { message, .. }
            | Event::SchedulerError { message } => Some(Cow::Borrowed(message)),
            Event::RateLimit { .. } => fixed("few Heroku API requests left this hour"),
            Event::Notify { message, .. }
            | Event::TrafficStream { message, .. }
            | Event::HolidaysFeed { message, .. }
            | Event::QueueSource { message, .. }
            | Event::Drain { message, .. }
            | Event::History(History { message, .. }) => field(message),
            Event::ScheduleDone => fixed("no entry of this app's schedules fires again"),
            Event::Start { .. }
            | Event::Probe { .. }
            | Event::ScaleSkip { .. }
            | Event::HoldEnd { .. }
            | Event::Shutdown { .. }
            | Event::Traffic { .. }
            | Event::Queue { .. }
            | Event::HistoryBatch { .. } => None,
        }
    }

    /// The pairs after `event=` and before `message=`, in line order, values unquoted.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut p = Pairs(Vec::with_capacity(16));
        match self {
            Event::Start {
                version,
                app,
                process,
                schedule,
                tz,
                max,
                check_url,
                interval,
                timeout,
                slow,
                fast,
                scale_out_after,
                scale_in_after,
                dry_run,
                next_edge,
                next_quantity,
                shard,
                traffic,
                concurrency,
                utilization,
                error_rate,
                queue,
                queue_latency,
            } => {
                p.put("version", version)
                    .put("app", app)
                    .put("process", process)
                    .put("schedule", schedule)
                    .put("tz", tz)
                    .put("max", max)
                    .put("check_url", check_url)
                    .put("interval", interval)
                    .put("timeout", timeout)
                    .put("slow", slow)
                    .put("fast", fast)
                    .put("scale_out_after", scale_out_after)
                    .put("scale_in_after", scale_in_after)
                    .put("dry_run", dry_run)
                    .put("next_edge", next_edge)
                    .blank("next_quantity", next_quantity)
                    .put("shard", shard)
                    .put("traffic", if *traffic { "on" } else { "off" })
                    .blank("concurrency", concurrency)
                    .put("utilization", utilization)
                    .put("error_rate", error_rate)
                    .opt("queue", queue)
                    .opt("queue_latency", queue_latency);
            }
            Event::StartIdle { shard } => {
                p.put("shard", shard);
            }
            Event::Budget {
                apps,
                targets,
                calls_per_hour,
                reads_per_hour,
                budget,
                stretch,
                shard,
                shards,
                ..
            } => {
                p.put("apps", apps)
                    .put("targets", targets)
                    .put("calls_per_hour", calls_per_hour)
                    .put("reads_per_hour", reads_per_hour)
                    .put("budget", budget)
                    .put("stretch", format!("{stretch:.2}"))
                    .put("shard", shard)
                    .put("shards", shards);
            }
            Event::BudgetRate {
                state,
                remaining,
                reads_per_hour,
                budget,
            } => {
                p.put("state", state)
                    .put("remaining", remaining)
                    .put("reads_per_hour", reads_per_hour)
                    .put("budget", budget);
            }
            Event::Probe {
                app,
                process,
                source,
                status,
                latency_ms,
                outcome,
                error,
                current,
                floor,
                late_ms,
                merged,
            } => {
                p.put("app", app)
                    .put("process", process)
                    .put("source", source)
                    .blank("status", status)
                    .put("latency_ms", latency_ms)
                    .put("outcome", outcome)
                    .put("error", error)
                    .blank("current", current)
                    .blank("floor", floor)
                    .opt("late_ms", late_ms)
                    .opt("merged", merged);
            }
            Event::Scale {
                app,
                process,
                from,
                to,
                reason,
                size,
                result,
                status,
                message: _,
            } => {
                p.put("app", app)
                    .put("process", process)
                    .put("from", from)
                    .put("to", to)
                    .put("reason", reason)
                    .opt("size", size)
                    .put("result", result)
                    .opt("status", status);
            }
            Event::ScaleSkip {
                app,
                process,
                reason,
                current,
                trigger,
            } => {
                p.put("app", app)
                    .put("process", process)
                    .put("reason", reason)
                    .put("current", current)
                    .put("trigger", trigger);
            }
            Event::Hold {
                app,
                process,
                reason,
                quantity,
                until,
                release,
            } => {
                p.put("app", app)
                    .put("process", process)
                    .put("reason", reason)
                    .opt("quantity", quantity)
                    .put("until", until)
                    .opt("release", release);
            }
            Event::HoldEnd {
                app,
                process,
                reason,
                quantity,
                why,
            } => {
                p.put("app", app)
                    .put("process", process)
                    .put("reason", reason)
                    .opt("quantity", quantity)
                    .put("why", why);
            }
            Event::TargetDisabled {
                app,
                process,
                status,
                message: _,
            } => {
                p.put("app", app)
                    .put("process", process)
                    .put("status", status);
            }
            Event::ApiError {
                app,
                method,
                path,
                status,
                id,
                attempt,
                request_id,
                message: _,
            } => {
                p.put("app", app)
                    .put("method", method)
                    .put("path", path)
                    .blank("status", status)
                    .put("id", id)
                    .put("attempt", attempt)
                    .put("request_id", request_id);
            }
            Event::RateLimit { remaining } => {
                p.put("remaining", remaining);
            }
            Event::Notify {
                channel,
                kind,
                result,
                attempt,
                message: _,
            } => {
                p.put("channel", channel)
                    .opt("kind", kind)
                    .put("result", result)
                    .opt("attempt", attempt);
            }
            Event::Shutdown {
                signal,
                clean,
                took_ms,
                api_calls,
            } => {
                p.put("signal", signal)
                    .put("clean", clean)
                    .put("took_ms", took_ms)
                    .put("api_calls", api_calls);
            }
            Event::Traffic {
                app,
                process,
                minute,
                requests,
                p50_ms,
                p95_ms,
                p99_ms,
                errors,
                h10,
                h12,
                h13,
                busy,
                dynos,
                s2xx,
                s3xx,
                s4xx,
                s5xx,
            } => {
                p.put("app", app)
                    .put("process", process)
                    .put("minute", minute.to_rfc3339_opts(SecondsFormat::Secs, true))
                    .put("requests", requests)
                    .blank("p50_ms", p50_ms)
                    .blank("p95_ms", p95_ms)
                    .blank("p99_ms", p99_ms)
                    .put("errors", errors)
                    .put("h10", h10)
                    .put("h12", h12)
                    .put("h13", h13)
                    .put("busy", format!("{busy:.2}"))
                    .put("dynos", dynos)
                    .put("s2xx", s2xx)
                    .put("s3xx", s3xx)
                    .put("s4xx", s4xx)
                    .put("s5xx", s5xx);
            }
            Event::TrafficStream {
                app,
                state,
                reason,
                status,
                lines,
                router,
                garbage,
                late,
                message: _,
            } => {
                p.put("app", app)
                    .put("state", state)
                    .opt("reason", reason)
                    .opt("status", status)
                    .opt("lines", lines)
                    .opt("router", router)
                    .opt("garbage", garbage)
                    .opt("late", late);
            }
            Event::Queue {
                app,
                process,
                minute,
                depth,
                latency_ms,
                busy,
                done,
                dynos,
                concurrency,
            } => {
                p.put("app", app)
                    .put("process", process)
                    .put("minute", minute.to_rfc3339_opts(SecondsFormat::Secs, true))
                    .put("depth", depth)
                    .put("latency_ms", latency_ms)
                    .blank("busy", busy)
                    .blank("done", done)
                    .put("dynos", dynos)
                    .put("concurrency", concurrency);
            }
            Event::QueueSource {
                app,
                process,
                state,
                library,
                url,
                reason,
                message: _,
            } => {
                p.put("app", app)
                    .put("process", process)
                    .put("state", state)
                    .put("library", library)
                    .put("url", url)
                    .opt("reason", reason);
            }
            Event::Drain {
                app,
                process,
                state,
                from,
                to,
                busy,
                waited_ms,
                message: _,
            } => {
                p.put("app", app)
                    .put("process", process)
                    .put("state", state)
                    .put("from", from)
                    .put("to", to)
                    .opt("busy", busy)
                    .opt("waited_ms", waited_ms);
            }
            Event::HolidaysFeed {
                state,
                url,
                holidays,
                reason,
                message: _,
            } => {
                p.put("state", state)
                    .put("url", url)
                    .put("holidays", holidays)
                    .opt("reason", reason);
            }
            Event::History(History {
                state,
                reason,
                target_id,
                stored_app,
                stored_process,
                written,
                dropped,
                invalid,
                store,
                schema_version,
                retention_days,
                clean,
                message: _,
            }) => {
                p.put("state", state)
                    .opt("reason", reason)
                    .opt("target_id", target_id)
                    .opt("stored_app", stored_app)
                    .opt("stored_process", stored_process)
                    .opt("written", written)
                    .opt("dropped", dropped)
                    .opt("invalid", invalid)
                    .opt("store", store)
                    .opt("schema_version", schema_version)
                    .opt("retention_days", retention_days)
                    .opt("clean", clean);
            }
            Event::HistoryBatch { rows, ms } => {
                p.put("rows", rows).put("ms", ms);
            }
            Event::Fatal {
                status,
                hint,
                message: _,
            } => {
                p.opt("status", status).opt("hint", hint);
            }
            Event::ChecksOff {
                app,
                process,
                reason,
                message: _,
            } => {
                p.put("app", app)
                    .put("process", process)
                    .put("reason", reason);
            }
            Event::ConfigWarning {
                app,
                process,
                message: _,
            } => {
                p.opt("app", app).opt("process", process);
            }
            Event::SchedulerError { message: _ } | Event::ScheduleDone => {}
        }
        p.0
    }

    /// The pairs of [`Event::pairs`] as logfmt text (`k=v k="a b"`), as the line shows them.
    pub fn pairs_text(&self) -> String {
        let mut text = String::with_capacity(128);
        for (key, value) in self.pairs() {
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(key);
            text.push('=');
            text.push_str(&quote(&value));
        }
        text
    }

    /// Logs the event at `level` through tracing: one line `ts=… level=… event=<name> <pairs>
    /// message=…` under [`crate::logfmt::Logfmt`] (see the module docs).
    pub fn emit(&self, level: Level) {
        let name = self.name();
        let pairs = self.pairs_text();
        let pairs = pairs.as_str();
        let message = self.message();
        let message = message.as_deref();
        match level {
            Level::ERROR => tracing::error!(event = name, logfmt = pairs, message),
            Level::WARN => tracing::warn!(event = name, logfmt = pairs, message),
            Level::INFO => tracing::info!(event = name, logfmt = pairs, message),
            Level::DEBUG => tracing::debug!(event = name, logfmt = pairs, message),
            _ => tracing::trace!(event = name, logfmt = pairs, message),
        }
    }
}
