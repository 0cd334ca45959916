//! Holidays from an iCalendar feed: every all-day event (`DTSTART;VALUE=DATE`) is a holiday,
//! each of its days (`DTEND` is exclusive), recurrences (`RRULE`, `RDATE`) expanded, `EXDATE`s
//! and moved occurrences (`RECURRENCE-ID`) honoured; timed events do not count.
//!
//! Pure: text in, dates out. Parsing and recurrence expansion are `calcard`'s (Stalwart's
//! iCalendar library, written for a server that parses untrusted calendars): its parser keeps
//! an explicit stack, so deeply nested input cannot overflow ours (the nom-based `icalendar`
//! crate overflows at a thousand nested `BEGIN:` lines).
//!
//! A feed is untrusted input: the text, the events, the recurring events and the expanded
//! occurrences are capped, and only dates inside a [`Window`] are kept.
//!
//! Expansion is per `UID` (a recurring event and the occurrences it moves share one), with each
//! open-ended rule cut at the window's last day so that a yearly rule from 1900 costs ~130 steps.

use std::collections::BTreeMap;

use calcard::common::PartialDateTime;
use calcard::icalendar::dates::TimeOrDelta;
use calcard::icalendar::{
    ICalendar, ICalendarComponent, ICalendarComponentType, ICalendarProperty, ICalendarValue,
};
use calcard::{Entry, Parser};
use chrono::{Datelike, Days, NaiveDate, NaiveDateTime, Timelike};

use super::Holidays;

/// Largest feed text accepted (the fetcher stops reading there too).
pub const MAX_TEXT_BYTES: usize = 2 * 1024 * 1024;

/// At most this many events (VEVENTs) in a feed.
pub const MAX_EVENTS: usize = 10_000;

/// At most this many recurring all-day events in a feed. A rule that never matches costs its
/// expansion ~20 ms before giving up, so this bounds a hostile feed to a few seconds.
pub const MAX_RULES: usize = 200;

/// Occurrences expanded per recurring event, counted from its DTSTART (a yearly rule needs one a
/// year, a weekly one 52).
pub const MAX_OCCURRENCES_PER_RULE: usize = 3_000;

/// Occurrences expanded per feed, all events together.
pub const MAX_OCCURRENCES: usize = 100_000;

/// Days kept before and after "today" by [`Window::around`].
pub const DAYS_BEFORE: u64 = 1;
pub const DAYS_AFTER: u64 = 400;

/// The local dates a feed's holidays are kept for, `first` to `last` inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub first: NaiveDate,
    pub last: NaiveDate,
}

impl Window {
    /// From yesterday to 400 days ahead: enough for a year of `plan`, and a feed refreshed daily
    /// never runs out.
    pub fn around(today: NaiveDate) -> Window {
        Window {
            first: today
                .checked_sub_days(Days::new(DAYS_BEFORE))
                .unwrap_or(today),
            last: today
                .checked_add_days(Days::new(DAYS_AFTER))
                .unwrap_or(NaiveDate::MAX),
        }
    }

    pub fn contains(&self, date: NaiveDate) -> bool {
        self.first <= date && date <= self.last
    }
}

/// What a feed gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedHolidays {
    /// The holidays inside the window.
    pub holidays: Holidays,
    /// All-day events read (a recurring one counts once), inside the window or not.
    pub all_day_events: usize,
    /// Timed events, which are not holidays.
    pub timed_events: usize,
    /// Recurring events whose expansion stopped at a cap before reaching the window's end: some
    /// of their holidays may be missing.
    pub capped_rules: usize,
}

/// Why a feed gave no holidays. `Display` is one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IcsError {
    #[error("the feed is {bytes} bytes; at most {MAX_TEXT_BYTES} are read")]
    TooLarge { bytes: usize },
    #[error("not an iCalendar feed (no BEGIN:VCALENDAR ... END:VCALENDAR)")]
    NotICalendar,
    #[error("the feed does not end with END:VCALENDAR (truncated?)")]
    Truncated,
    #[error("the feed has more than {MAX_EVENTS} events")]
    TooManyEvents,
    #[error("the feed has more than {MAX_RULES} recurring all-day events")]
    TooManyRules,
}

/// The holidays of iCalendar `text` that fall inside `window`.
pub fn holidays_from_ics(text: &str, window: Window) -> Result<FeedHolidays, IcsError> {
    if text.len() > MAX_TEXT_BYTES {
        return Err(IcsError::TooLarge { bytes: text.len() });
    }
    let calendars = parse_calendars(text)?;
    let events: Vec<&ICalendarComponent> = calendars
        .iter()
        .flat_map(|c| &c.components)
        .filter(|c| c.component_type == ICalendarComponentType::VEvent)
        .collect();
    if events.len() > MAX_EVENTS {
        return Err(IcsError::TooManyEvents);
    }
    let rules = events
        .iter()
        .filter(|e| is_all_day(e) && e.has_property(&ICalendarProperty::Rrule))
        .count();
    if rules > MAX_RULES {
        return Err(IcsError::TooManyRules);
    }

    // A recurring event and the occurrences it moves (RECURRENCE-ID) share a UID.
    let mut groups: BTreeMap<&str, Vec<&ICalendarComponent>> = BTreeMap::new();
    let mut loners: Vec<Vec<&ICalendarComponent>> = Vec::new();
    for event in events {
        match event.uid() {
            Some(uid) => groups.entry(uid).or_default().push(event),
            None => loners.push(vec![event]),
        }
    }

    let mut found = FeedHolidays {
        holidays: Holidays::default(),
        all_day_events: 0,
        timed_events: 0,
        capped_rules: 0,
    };
    let mut ranges: Vec<(NaiveDate, NaiveDate)> = Vec::new();
    let mut budget = MAX_OCCURRENCES;
    for group in groups.into_values().chain(loners) {
        let all_day = group.iter().filter(|e| is_all_day(e)).count();
        found.all_day_events += all_day;
        found.timed_events += group.len() - all_day;
        if all_day == 0 {
            continue;
        }
        let rules = group
            .iter()
            .filter(|e| is_all_day(e) && e.has_property(&ICalendarProperty::Rrule))
            .count();
        let limit = budget.min(MAX_OCCURRENCES_PER_RULE * rules);
        let calendar = group_calendar(&group, window);
        let expanded = calendar.expand_dates(chrono_tz::UTC, limit);
        budget = budget.saturating_sub(expanded.events.len());
        // Each occurrence and each EXDATE costs a step; all steps used means the cap stopped it.
        if expanded.events.len() + exdates(&group) >= limit {
            found.capped_rules += rules;
        }
        for event in &expanded.events {
            let all_day = calendar
                .components
                .get(event.comp_id as usize)
                .is_some_and(is_all_day);
            if !all_day {
                continue;
            }
            let start = event.start.naive_local();
            let end = match event.end {
                TimeOrDelta::Time(end) => Some(end.naive_local()),
                TimeOrDelta::Delta(length) => start.checked_add_signed(length),
            };
            if let Some(days) = days_in_window(start, end, window) {
                ranges.push(days);
            }
        }
    }
    found.holidays = Holidays::from_ranges(ranges);
    Ok(found)
}

/// Every VCALENDAR in `text` (a file may hold several).
fn parse_calendars(text: &str) -> Result<Vec<ICalendar>, IcsError> {
    let mut parser = Parser::new(text);
    let mut calendars = Vec::new();
    // Every entry consumes input; the bound only guards against a parser that would not.
    for _ in 0..=text.len() {
        match parser.entry() {
            Entry::ICalendar(calendar) => {
                let is_vcalendar = calendar
                    .components
                    .first()
                    .is_some_and(|root| root.component_type == ICalendarComponentType::VCalendar);
                if is_vcalendar {
                    calendars.push(calendar);
                }
            }
            Entry::Eof => break,
            // Stray lines, a mismatched END, a vCard: skipped, as calendar apps do. (The
            // lenient parser reports no unterminated component: that is checked below.)
            _ => {}
        }
    }
    if calendars.is_empty() {
        return Err(IcsError::NotICalendar);
    }
    // calcard closes what is left open at the end of the text; a cut-off download must not
    // pass for a feed with fewer holidays.
    let last_line = text.lines().map(str::trim).rfind(|line| !line.is_empty());
    if !last_line.is_some_and(|line| line.eq_ignore_ascii_case("END:VCALENDAR")) {
        return Err(IcsError::Truncated);
    }
    Ok(calendars)
}

/// An event whose DTSTART is a date (no time of day).
fn is_all_day(event: &ICalendarComponent) -> bool {
    match event
        .property(&ICalendarProperty::Dtstart)
        .and_then(|p| p.values.first())
    {
        Some(ICalendarValue::PartialDateTime(start)) => start.hour.is_none(),
        _ => false,
    }
}

/// The number of EXDATE values in `group`: each costs an expansion step without an occurrence.
fn exdates(group: &[&ICalendarComponent]) -> usize {
    group
        .iter()
        .flat_map(|e| &e.entries)
        .filter(|entry| entry.name == ICalendarProperty::Exdate)
        .map(|entry| entry.values.len())
        .sum()
}

/// A calendar of one group's events, each open-ended rule cut at the window's last day (a
/// timed rule's cut makes it invalid, which is as good: timed events are dropped anyway).
fn group_calendar(group: &[&ICalendarComponent], window: Window) -> ICalendar {
    // No VCALENDAR root: expansion looks at every component and needs none.
    let mut components = Vec::with_capacity(group.len());
    for event in group {
        let mut event = (*event).clone();
        for entry in &mut event.entries {
            if entry.name != ICalendarProperty::Rrule {
                continue;
            }
            for value in &mut entry.values {
                if let ICalendarValue::RecurrenceRule(rule) = value {
                    if rule.count.is_none() {
                        rule.until = Some(cut_until(rule.until.as_ref(), window.last));
                    }
                }
            }
        }
        components.push(event);
    }
    ICalendar { components }
}

/// The earlier of a rule's UNTIL and `last`, as a date (the rule's DTSTART is a date).
fn cut_until(until: Option<&PartialDateTime>, last: NaiveDate) -> PartialDateTime {
    let until = until
        .and_then(|u| u.to_date_time())
        .map(|u| u.date_time.date());
    let date = until.map_or(last, |u| u.min(last));
    PartialDateTime {
        year: u16::try_from(date.year()).ok(),
        month: u8::try_from(date.month()).ok(),
        day: u8::try_from(date.day()).ok(),
        ..Default::default()
    }
}

/// The days of an all-day occurrence that fall in `window`, as an inclusive range. The end is
/// exclusive; a missing or non-positive length counts as one day.
fn days_in_window(
    start: NaiveDateTime,
    end: Option<NaiveDateTime>,
    window: Window,
) -> Option<(NaiveDate, NaiveDate)> {
    let first = start.date();
    let last = match end {
        // An end at 00:00 excludes its day; one later in the day includes it.
        Some(end) if end > start => {
            let day = end.date();
            if end.time().num_seconds_from_midnight() == 0 {
                day.pred_opt()?
            } else {
                day
            }
        }
        _ => first,
    };
    let first = first.max(window.first);
    let last = last.min(window.last);
    (first <= last).then_some((first, last))
}

#[cfg(test)]
mod tests;
