use super::*;
use chrono::Timelike;
use chrono_tz::America::{Havana, Santiago};
use chrono_tz::Europe::Berlin;
use chrono_tz::Pacific::Apia;
use chrono_tz::UTC;
use EdgeKind::{Holiday, HolidayEnd, HolidayStart, Normal};

const DEFAULT: &str = "07:00=3; 22:00=2; 03:00=1";

fn t(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
}

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn calendar(schedule: &str, holiday: Option<&str>, tz: Tz, holidays: &str) -> Calendar {
    let normal = Schedule::parse(schedule, tz).unwrap();
    let holiday = holiday_schedule(holiday, &normal).unwrap();
    let holidays = HolidaySources::parse(holidays).unwrap().dates;
    Calendar::new(Arc::new(normal), Arc::new(holiday), Arc::new(holidays))
}

fn edge(at: DateTime<Utc>, quantity: u32, kind: EdgeKind) -> Edge {
    Edge {
        at,
        quantity,
        size: None,
        kind,
    }
}

fn err(text: &str) -> String {
    HolidaySources::parse(text).unwrap_err().to_string()
}

// ---- AUTOSCALE_HOLIDAYS ---------------------------------------------------------------------

#[test]
fn parses_dates_ranges_and_feeds() {
    let sources = HolidaySources::parse(
        " 2026-12-25 ,2026-12-31..2027-01-01,, https://example.com/de.ics ,http://127.0.0.1:8080/x.ics, 2026-05-01",
    )
    .unwrap();
    assert_eq!(
        sources.dates.dates().collect::<Vec<_>>(),
        vec![
            d(2026, 5, 1),
            d(2026, 12, 25),
            d(2026, 12, 31),
            d(2027, 1, 1)
        ]
    );
    assert_eq!(
        sources.feeds.iter().map(Url::as_str).collect::<Vec<_>>(),
        vec!["https://example.com/de.ics", "http://127.0.0.1:8080/x.ics"]
    );
    assert!(!sources.is_empty());
    // Loopback by name and IPv6 too; a feed written twice is fetched once.
    let sources =
        HolidaySources::parse("http://localhost/a.ics,http://[::1]:9/b.ics,http://localhost/a.ics")
            .unwrap();
    assert_eq!(sources.feeds.len(), 2);
    assert!(sources.dates.is_empty());
    assert!(!sources.is_empty());
    let dates_only = HolidaySources::parse("2026-12-25").unwrap();
    assert!(!dates_only.is_empty());
    assert!(dates_only.feeds.is_empty());
    let empty = HolidaySources::parse(" , ,").unwrap();
    assert!(empty.is_empty());
    assert_eq!(empty, HolidaySources::default());
    // The example in the docs parses.
    assert!(HolidaySources::parse(EXAMPLE).is_ok());
}

#[test]
fn ranges_are_inclusive_and_capped() {
    let one = HolidaySources::parse("2026-12-24..2026-12-24").unwrap();
    assert_eq!(one.dates.len(), 1);
    let year = HolidaySources::parse("2028-01-01..2028-12-31").unwrap();
    assert_eq!(year.dates.len(), 366);
    assert_eq!(
        HolidaySources::parse("2027-01-01..2028-01-01")
            .unwrap()
            .dates
            .len(),
        366
    );
    assert_eq!(
        err("2026-01-01..2027-01-02"),
        r#"item 1 "2026-01-01..2027-01-02": covers 367 days; a range covers at most 366 (e.g. 2026-12-24..2026-12-26)"#
    );
}

#[test]
fn error_messages_name_the_item_and_an_example() {
    assert_eq!(
        err("2026-12-25, 2026-13-01"),
        r#"item 2 "2026-13-01": not a date (YYYY-MM-DD, e.g. 2026-12-25)"#
    );
    assert_eq!(
        err("2026-1-5"),
        r#"item 1 "2026-1-5": not a date (YYYY-MM-DD, e.g. 2026-12-25)"#
    );
    assert_eq!(
        err("2026-12-2"),
        r#"item 1 "2026-12-2": not a date (YYYY-MM-DD, e.g. 2026-12-25)"#
    );
    assert_eq!(
        err("2026-02-30"),
        r#"item 1 "2026-02-30": not a date (YYYY-MM-DD, e.g. 2026-12-25)"#
    );
    assert_eq!(
        err("christmas"),
        r#"item 1 "christmas": not a date (2026-12-25), a range (2026-12-24..2026-12-26) or the https:// URL of an iCalendar feed"#
    );
    assert_eq!(
        err("2026-12-26..2026-12-24"),
        r#"item 1 "2026-12-26..2026-12-24": ends before it starts (FIRST..LAST, e.g. 2026-12-24..2026-12-26)"#
    );
    assert_eq!(
        err("2026-12-24..tomorrow"),
        r#"item 1 "2026-12-24..tomorrow": not a range of dates (FIRST..LAST, e.g. 2026-12-24..2026-12-26)"#
    );
    assert_eq!(
        err("..2026-12-24"),
        r#"item 1 "..2026-12-24": not a range of dates (FIRST..LAST, e.g. 2026-12-24..2026-12-26)"#
    );
    assert_eq!(
        err("http://example.com/h.ics"),
        r#"item 1 "http://example.com/h.ics": plain http is accepted only for loopback hosts (127.0.0.1, ::1, localhost); use https (e.g. https://example.com/holidays.ics)"#
    );
    assert_eq!(
        err("webcal://example.com/h.ics"),
        r#"item 1 "webcal://example.com/h.ics": webcal:// is what calendar apps call https://; write the URL with https:// (e.g. https://example.com/holidays.ics)"#
    );
    assert_eq!(
        err("ftp://example.com/h.ics"),
        r#"item 1 "ftp://example.com/h.ics": scheme "ftp" is not https (e.g. https://example.com/holidays.ics)"#
    );
    let bad_url = err("https://exa mple.com/h.ics");
    assert!(
        bad_url.starts_with(r#"item 1 "https://exa mple.com/h.ics": not a URL ("#)
            && bad_url.ends_with("; e.g. https://example.com/holidays.ics)"),
        "{bad_url}"
    );
    // Positions count non-empty items only.
    assert_eq!(
        err(",,2026-12-25,,x"),
        r#"item 2 "x": not a date (2026-12-25), a range (2026-12-24..2026-12-26) or the https:// URL of an iCalendar feed"#
    );
}

#[test]
fn errors_never_show_a_feed_secret() {
    let shown = err("http://user:s3cret@example.com/basic.ics?token=s3cret");
    assert!(!shown.contains("s3cret"), "{shown}");
    assert!(shown.contains("example.com/basic.ics"), "{shown}");
    let shown = err("http://example.com/basic.ics?token=s3cret");
    assert!(!shown.contains("s3cret"), "{shown}");
    let shown = err("holidays?token=s3cret");
    assert!(!shown.contains("s3cret"), "{shown}");
    // Not a URL but looks like it may carry one.
    let shown = err("user:s3cret@example.com");
    assert!(!shown.contains("s3cret"), "{shown}");
    assert!(
        shown.starts_with(r#"item 1 "(a value of 23 characters"#),
        "{shown}"
    );
    // Debug of the parsed sources redacts too.
    let sources = HolidaySources::parse("https://u:s3cret@example.com/x.ics?k=s3cret").unwrap();
    let debug = format!("{sources:?}");
    assert!(!debug.contains("s3cret"), "{debug}");
    assert!(debug.contains("example.com/x.ics"), "{debug}");
}

#[test]
fn items_and_feeds_are_capped() {
    let many: Vec<String> = (0..=MAX_ITEMS).map(|_| "2026-12-25".to_string()).collect();
    assert_eq!(
        err(&many.join(",")),
        "201 items; at most 200 (a range such as 2026-12-24..2026-12-26 counts once)"
    );
    let at_cap: Vec<String> = (0..MAX_ITEMS).map(|_| "2026-12-25".to_string()).collect();
    assert!(HolidaySources::parse(&at_cap.join(",")).is_ok());
    let feeds: Vec<String> = (0..=MAX_FEEDS)
        .map(|i| format!("https://example.com/{i}.ics"))
        .collect();
    assert_eq!(err(&feeds.join(",")), "11 feed URLs; at most 10");
    assert!(HolidaySources::parse(&feeds[..MAX_FEEDS].join(",")).is_ok());
}

#[test]
fn errors_are_one_line() {
    for text in [
        "20\n26-12-25",
        "https://exa mple\n.com",
        "a\u{7}b",
        "x..\ny",
    ] {
        let e = err(text);
        assert!(!e.contains('\n'), "{e}");
    }
}

// ---- Holidays ---------------------------------------------------------------------------------

#[test]
fn holidays_merge_into_runs() {
    let h = Holidays::from_ranges([
        (d(2026, 12, 26), d(2026, 12, 24)), // reversed: the same span
        (d(2026, 12, 27), d(2026, 12, 27)), // adjacent: joins
        (d(2026, 12, 25), d(2026, 12, 25)), // inside
        (d(2026, 12, 29), d(2026, 12, 30)), // one working day apart: separate
        (d(2027, 1, 1), d(2027, 1, 1)),
    ]);
    assert_eq!(
        h.runs(),
        &[
            Run {
                first: d(2026, 12, 24),
                last: d(2026, 12, 27)
            },
            Run {
                first: d(2026, 12, 29),
                last: d(2026, 12, 30)
            },
            Run {
                first: d(2027, 1, 1),
                last: d(2027, 1, 1)
            },
        ]
    );
    assert_eq!(h.len(), 7);
    assert_eq!(
        format!("{h:?}"),
        "Holidays[2026-12-24..2026-12-27, 2026-12-29..2026-12-30, 2027-01-01]"
    );
    assert!(h.contains(d(2026, 12, 24)));
    assert!(h.contains(d(2026, 12, 27)));
    assert!(!h.contains(d(2026, 12, 23)));
    assert!(!h.contains(d(2026, 12, 28)));
    assert!(!h.contains(d(2027, 1, 2)));
    assert_eq!(
        h.upcoming(d(2026, 12, 26)).collect::<Vec<_>>(),
        vec![
            d(2026, 12, 26),
            d(2026, 12, 27),
            d(2026, 12, 29),
            d(2026, 12, 30),
            d(2027, 1, 1)
        ]
    );
    assert_eq!(h.upcoming(d(2026, 12, 27)).next(), Some(d(2026, 12, 27)));
    assert_eq!(h.upcoming(d(2026, 12, 28)).next(), Some(d(2026, 12, 29)));
    assert_eq!(h.upcoming(d(2027, 1, 2)).next(), None);
    assert_eq!(h.dates().count(), 7);
    assert_eq!(
        h.run_containing(d(2026, 12, 25)).unwrap().first,
        d(2026, 12, 24)
    );
    assert_eq!(h.run_containing(d(2026, 12, 28)), None);
    assert_eq!(h.last_run_before(d(2026, 12, 24)), None);
    assert_eq!(h.last_run_before(d(2026, 12, 27)), None);
    assert_eq!(
        h.last_run_before(d(2026, 12, 28)).unwrap().last,
        d(2026, 12, 27)
    );
    assert_eq!(
        h.last_run_before(d(2026, 12, 29)).unwrap().last,
        d(2026, 12, 27)
    );
    assert_eq!(
        h.last_run_before(d(2026, 12, 31)).unwrap().last,
        d(2026, 12, 30)
    );
    assert_eq!(
        h.first_run_after(d(2026, 12, 23)).unwrap().first,
        d(2026, 12, 24)
    );
    assert_eq!(
        h.first_run_after(d(2026, 12, 24)).unwrap().first,
        d(2026, 12, 29)
    );
    assert_eq!(h.first_run_after(d(2027, 1, 1)), None);

    let other: Holidays = [d(2026, 12, 28), d(2027, 1, 5)].into_iter().collect();
    let both = h.union(&other);
    assert_eq!(both.runs().len(), 3);
    assert_eq!(both.len(), 9);
    assert!(Holidays::default().is_empty());
    assert_eq!(Holidays::default().len(), 0);
    assert!(!both.is_empty());
    // The ends of chrono's range do not panic.
    let edges: Holidays = [NaiveDate::MAX, NaiveDate::MIN, NaiveDate::MAX]
        .into_iter()
        .collect();
    assert_eq!(edges.len(), 2);
    assert_eq!(edges.upcoming(NaiveDate::MAX).count(), 1);
}

// ---- the holiday schedule ---------------------------------------------------------------------

#[test]
fn default_holiday_schedule_is_the_smallest_quantity_all_day() {
    let normal = Schedule::parse(DEFAULT, Berlin).unwrap();
    let holiday = default_holiday_schedule(&normal);
    assert_eq!(holiday.describe(), "00:00=1");
    assert_eq!(holiday.tz(), Berlin);
    let zero = Schedule::parse("07:00=4; 19:00=0", UTC).unwrap();
    assert_eq!(default_holiday_schedule(&zero).describe(), "00:00=0");
    assert_eq!(
        holiday_schedule(None, &normal).unwrap().describe(),
        "00:00=1"
    );
    let custom = holiday_schedule(Some("10:00=2; 16:00=1"), &normal).unwrap();
    assert_eq!(custom.describe(), "10:00=2; 16:00=1");
    assert_eq!(custom.tz(), Berlin);
    assert_eq!(
        holiday_schedule(Some("25:00=1"), &normal)
            .unwrap_err()
            .to_string(),
        r#"entry 1 "25:00=1": 25:00 is not a time of day (HH:MM, 00:00-23:59)"#
    );
}

// ---- the calendar: the issue's examples -----------------------------------------------------

#[test]
fn christmas_with_the_default_schedule_in_utc() {
    let c = calendar(DEFAULT, None, UTC, "2026-12-25");
    let from = t(2026, 12, 24, 21, 0, 0);
    assert_eq!(
        c.next_edges(from, 6),
        vec![
            edge(t(2026, 12, 24, 22, 0, 0), 2, Normal { entry: 1 }),
            // The drop to the holiday quantity; the holiday schedule's own 00:00 is this edge.
            edge(t(2026, 12, 25, 0, 0, 0), 1, HolidayStart),
            // Nothing of the normal schedule on the 25th; the 22:00 entry's 2 from the 26th.
            edge(t(2026, 12, 26, 0, 0, 0), 2, HolidayEnd),
            edge(t(2026, 12, 26, 3, 0, 0), 1, Normal { entry: 2 }),
            edge(t(2026, 12, 26, 7, 0, 0), 3, Normal { entry: 0 }),
            edge(t(2026, 12, 26, 22, 0, 0), 2, Normal { entry: 1 }),
        ]
    );
    assert_eq!(
        c.next_edge_after(from),
        c.next_edges(from, 1).first().copied()
    );
    assert_eq!(c.next_edges(from, 0), vec![]);
    let holiday: Vec<bool> = c.next_edges(from, 4).iter().map(Edge::holiday).collect();
    assert_eq!(holiday, vec![false, true, false, false]);

    assert_eq!(
        c.floor(t(2026, 12, 24, 23, 59, 59)),
        Some(edge(t(2026, 12, 24, 22, 0, 0), 2, Normal { entry: 1 }))
    );
    for at in [
        t(2026, 12, 25, 0, 0, 0),
        t(2026, 12, 25, 7, 0, 0),
        t(2026, 12, 25, 23, 59, 59),
    ] {
        assert_eq!(
            c.floor(at),
            Some(edge(t(2026, 12, 25, 0, 0, 0), 1, HolidayStart)),
            "{at}"
        );
        assert!(c.is_holiday(at));
    }
    for at in [t(2026, 12, 26, 0, 0, 0), t(2026, 12, 26, 2, 59, 59)] {
        assert_eq!(
            c.floor(at),
            Some(edge(t(2026, 12, 26, 0, 0, 0), 2, HolidayEnd)),
            "{at}"
        );
        assert!(!c.is_holiday(at));
    }
    assert_eq!(
        c.floor(t(2026, 12, 26, 3, 0, 0)),
        Some(edge(t(2026, 12, 26, 3, 0, 0), 1, Normal { entry: 2 }))
    );
    // A week later the holiday is long past: the normal schedule alone.
    assert_eq!(
        c.floor(t(2027, 1, 2, 8, 0, 0)),
        Some(edge(t(2027, 1, 2, 7, 0, 0), 3, Normal { entry: 0 }))
    );
    // 24th: 3h×2 + 4h×1 + 15h×3 + 2h×2 = 59; 25th: 24×1; 26th like the 24th.
    assert_eq!(
        c.dyno_hours(t(2026, 12, 24, 0, 0, 0), t(2026, 12, 27, 0, 0, 0)),
        142.0
    );
    assert_eq!(
        c.dyno_hours(t(2026, 12, 25, 6, 0, 0), t(2026, 12, 25, 8, 30, 0)),
        2.5
    );
    assert_eq!(c.dyno_hours(from, from), 0.0);
    assert_eq!(c.dyno_hours(from, t(2026, 12, 24, 20, 0, 0)), 0.0);
    // The typical week is the normal schedule's, holidays or not.
    assert_eq!(
        c.normal_schedule()
            .dyno_hours_per_week(t(2026, 12, 21, 0, 0, 0)),
        7.0 * 59.0
    );
    assert_eq!(c.holiday_schedule().describe(), "00:00=1");
    assert_eq!(c.holidays().len(), 1);
    assert_eq!(c.tz(), UTC);
}

#[test]
fn christmas_in_berlin_shifts_by_the_offset() {
    let c = calendar(DEFAULT, None, Berlin, "2026-12-25");
    // 22:00 in Berlin is 21:00Z: not after 21:00Z.
    assert_eq!(
        c.next_edges(t(2026, 12, 24, 21, 0, 0), 4),
        vec![
            edge(t(2026, 12, 24, 23, 0, 0), 1, HolidayStart),
            edge(t(2026, 12, 25, 23, 0, 0), 2, HolidayEnd),
            edge(t(2026, 12, 26, 2, 0, 0), 1, Normal { entry: 2 }),
            edge(t(2026, 12, 26, 6, 0, 0), 3, Normal { entry: 0 }),
        ]
    );
    assert_eq!(
        c.floor(t(2026, 12, 24, 22, 59, 59)).map(|e| e.kind),
        Some(Normal { entry: 1 })
    );
    assert!(!c.is_holiday(t(2026, 12, 24, 22, 59, 59)));
    assert!(c.is_holiday(t(2026, 12, 24, 23, 0, 0)));
    assert!(!c.is_holiday(t(2026, 12, 25, 23, 0, 0)));
    assert_eq!(c.local_date(t(2026, 12, 24, 23, 0, 0)), d(2026, 12, 25));
}

#[test]
fn a_range_is_one_run_with_only_the_holiday_schedules_edges_inside() {
    let c = calendar(
        DEFAULT,
        Some("10:00=2; 16:00=1"),
        UTC,
        "2026-12-24..2026-12-26",
    );
    let edges = c.next_edges(t(2026, 12, 23, 21, 0, 0), 10);
    assert_eq!(
        edges,
        vec![
            edge(t(2026, 12, 23, 22, 0, 0), 2, Normal { entry: 1 }),
            // In force at 00:00: the holiday schedule's latest firing (16:00 the day before).
            edge(t(2026, 12, 24, 0, 0, 0), 1, HolidayStart),
            edge(t(2026, 12, 24, 10, 0, 0), 2, Holiday { entry: 0 }),
            edge(t(2026, 12, 24, 16, 0, 0), 1, Holiday { entry: 1 }),
            edge(t(2026, 12, 25, 10, 0, 0), 2, Holiday { entry: 0 }),
            edge(t(2026, 12, 25, 16, 0, 0), 1, Holiday { entry: 1 }),
            edge(t(2026, 12, 26, 10, 0, 0), 2, Holiday { entry: 0 }),
            edge(t(2026, 12, 26, 16, 0, 0), 1, Holiday { entry: 1 }),
            edge(t(2026, 12, 27, 0, 0, 0), 2, HolidayEnd),
            edge(t(2026, 12, 27, 3, 0, 0), 1, Normal { entry: 2 }),
        ]
    );
    assert!(edges[2].holiday() && edges[3].holiday());
    assert!(!edges[8].holiday());
    assert_eq!(
        c.floor(t(2026, 12, 25, 12, 0, 0)),
        Some(edge(t(2026, 12, 25, 10, 0, 0), 2, Holiday { entry: 0 }))
    );
    // Early on a later day of the run: the holiday schedule's 16:00 of the day before.
    assert_eq!(
        c.floor(t(2026, 12, 26, 5, 0, 0)),
        Some(edge(t(2026, 12, 25, 16, 0, 0), 1, Holiday { entry: 1 }))
    );
    assert_eq!(
        c.floor(t(2026, 12, 24, 9, 59, 59)),
        Some(edge(t(2026, 12, 24, 0, 0, 0), 1, HolidayStart))
    );
}

#[test]
fn dates_written_apart_but_consecutive_form_one_run() {
    let c = calendar(DEFAULT, None, UTC, "2026-12-26, 2026-12-24,2026-12-25");
    assert_eq!(c.holidays().runs().len(), 1);
    // With the default holiday schedule its 00:00 firings are the only edges inside the run.
    assert_eq!(
        c.next_edges(t(2026, 12, 23, 23, 0, 0), 4),
        vec![
            edge(t(2026, 12, 24, 0, 0, 0), 1, HolidayStart),
            edge(t(2026, 12, 25, 0, 0, 0), 1, Holiday { entry: 0 }),
            edge(t(2026, 12, 26, 0, 0, 0), 1, Holiday { entry: 0 }),
            edge(t(2026, 12, 27, 0, 0, 0), 2, HolidayEnd),
        ]
    );
}

#[test]
fn a_normal_firing_at_midnight_after_a_run_is_the_runs_end() {
    // The normal schedule fires at 00:00 itself: one edge, the run's end, with that quantity.
    let c = calendar("00:00=5; 12:00=3", None, UTC, "2026-12-25");
    assert_eq!(
        c.next_edges(t(2026, 12, 24, 12, 0, 0), 4),
        vec![
            edge(t(2026, 12, 25, 0, 0, 0), 3, HolidayStart),
            edge(t(2026, 12, 26, 0, 0, 0), 5, HolidayEnd),
            edge(t(2026, 12, 26, 12, 0, 0), 3, Normal { entry: 1 }),
            edge(t(2026, 12, 27, 0, 0, 0), 5, Normal { entry: 0 }),
        ]
    );
    assert_eq!(
        c.floor(t(2026, 12, 26, 0, 0, 0)),
        Some(edge(t(2026, 12, 26, 0, 0, 0), 5, HolidayEnd))
    );
    // A holiday schedule firing at 00:00 is absorbed into the run's start the same way.
    let c = calendar(DEFAULT, Some("00:00=0; 12:00=1"), UTC, "2026-12-25");
    assert_eq!(
        c.floor(t(2026, 12, 25, 0, 0, 0)),
        Some(edge(t(2026, 12, 25, 0, 0, 0), 0, HolidayStart))
    );
    assert_eq!(
        c.floor(t(2026, 12, 25, 12, 0, 0)),
        Some(edge(t(2026, 12, 25, 12, 0, 0), 1, Holiday { entry: 1 }))
    );
}

#[test]
fn no_holidays_is_the_normal_schedule() {
    let c = calendar(DEFAULT, None, Berlin, "");
    let normal = Schedule::parse(DEFAULT, Berlin).unwrap();
    let from = t(2026, 3, 27, 0, 0, 0);
    let ours: Vec<(DateTime<Utc>, u32)> = c
        .next_edges(from, 12)
        .iter()
        .map(|e| (e.at, e.quantity))
        .collect();
    let theirs: Vec<(DateTime<Utc>, u32)> = normal
        .next_edges(from, 12)
        .iter()
        .map(|e| (e.at, e.quantity))
        .collect();
    assert_eq!(ours, theirs);
    assert_eq!(
        c.dyno_hours(from, from + Duration::days(7)),
        normal.dyno_hours_per_week(from)
    );
    assert_eq!(
        c.floor(from).map(|e| e.quantity),
        normal.floor(from).map(|e| e.quantity)
    );
}

// ---- DST --------------------------------------------------------------------------------------

#[test]
fn berlin_holiday_on_the_spring_forward_day_lasts_23_hours() {
    let c = calendar(DEFAULT, None, Berlin, "2026-03-29");
    assert_eq!(
        c.next_edges(t(2026, 3, 28, 21, 0, 0), 3),
        vec![
            edge(t(2026, 3, 28, 23, 0, 0), 1, HolidayStart),
            edge(t(2026, 3, 29, 22, 0, 0), 2, HolidayEnd),
            edge(t(2026, 3, 30, 1, 0, 0), 1, Normal { entry: 2 }),
        ]
    );
    assert_eq!(
        c.dyno_hours(t(2026, 3, 28, 23, 0, 0), t(2026, 3, 29, 22, 0, 0)),
        23.0
    );
}

#[test]
fn havana_skips_midnight_in_spring_and_repeats_it_in_autumn() {
    // Premises, from the zone data: 2026-03-08 00:00 does not exist, 2026-11-01 00:00 twice.
    let spring = d(2026, 3, 8).and_hms_opt(0, 0, 0).unwrap();
    assert_eq!(Havana.from_local_datetime(&spring), LocalResult::None);
    let autumn = d(2026, 11, 1).and_hms_opt(0, 30, 0).unwrap();
    assert!(matches!(
        Havana.from_local_datetime(&autumn),
        LocalResult::Ambiguous(..)
    ));

    let c = calendar(DEFAULT, None, Havana, "2026-03-08, 2026-11-01");
    // The day starts at the first instant after the gap: 01:00 EDT = 05:00Z.
    assert_eq!(
        start_of_day(Havana, d(2026, 3, 8)),
        Some(t(2026, 3, 8, 5, 0, 0))
    );
    assert_eq!(
        c.next_edges(t(2026, 3, 8, 0, 0, 0), 4),
        vec![
            // 22:00 EST on the 7th.
            edge(t(2026, 3, 8, 3, 0, 0), 2, Normal { entry: 1 }),
            edge(t(2026, 3, 8, 5, 0, 0), 1, HolidayStart),
            edge(t(2026, 3, 9, 4, 0, 0), 2, HolidayEnd),
            edge(t(2026, 3, 9, 7, 0, 0), 1, Normal { entry: 2 }),
        ]
    );
    assert_eq!(
        c.floor(t(2026, 3, 8, 4, 59, 59)).map(|e| e.kind),
        Some(Normal { entry: 1 })
    );
    assert_eq!(
        c.floor(t(2026, 3, 8, 5, 0, 0)).map(|e| e.kind),
        Some(HolidayStart)
    );
    assert_eq!(
        c.dyno_hours(t(2026, 3, 8, 5, 0, 0), t(2026, 3, 9, 4, 0, 0)),
        23.0
    );

    // Autumn: the first 00:00 (EDT, 04:00Z) starts the day; it lasts 25 hours.
    assert_eq!(
        start_of_day(Havana, d(2026, 11, 1)),
        Some(t(2026, 11, 1, 4, 0, 0))
    );
    assert_eq!(
        c.next_edges(t(2026, 11, 1, 3, 0, 0), 3),
        vec![
            edge(t(2026, 11, 1, 4, 0, 0), 1, HolidayStart),
            edge(t(2026, 11, 2, 5, 0, 0), 2, HolidayEnd),
            edge(t(2026, 11, 2, 8, 0, 0), 1, Normal { entry: 2 }),
        ]
    );
    // During the repeated hour (00:30 EST, 05:30Z) it is still the holiday.
    assert!(c.is_holiday(t(2026, 11, 1, 5, 30, 0)));
    assert_eq!(
        c.dyno_hours(t(2026, 11, 1, 4, 0, 0), t(2026, 11, 2, 5, 0, 0)),
        25.0
    );
}

#[test]
fn santiago_skips_midnight_in_september_and_repeats_23h_in_april() {
    let c = calendar(DEFAULT, None, Santiago, "2026-09-06, 2026-04-04");
    // 2026-09-06 00:00 -04 does not exist: the day starts at 01:00 -03 = 04:00Z.
    assert_eq!(
        Santiago.from_local_datetime(&d(2026, 9, 6).and_hms_opt(0, 0, 0).unwrap()),
        LocalResult::None
    );
    assert_eq!(
        start_of_day(Santiago, d(2026, 9, 6)),
        Some(t(2026, 9, 6, 4, 0, 0))
    );
    assert_eq!(
        c.next_edges(t(2026, 9, 6, 3, 0, 0), 2),
        vec![
            edge(t(2026, 9, 6, 4, 0, 0), 1, HolidayStart),
            edge(t(2026, 9, 7, 3, 0, 0), 2, HolidayEnd),
        ]
    );
    assert_eq!(
        c.dyno_hours(t(2026, 9, 6, 4, 0, 0), t(2026, 9, 7, 3, 0, 0)),
        23.0
    );
    // 2026-04-04 ends at 24:00 -03, then 23:00-24:00 -04 again: a 25-hour holiday.
    assert_eq!(
        start_of_day(Santiago, d(2026, 4, 4)),
        Some(t(2026, 4, 4, 3, 0, 0))
    );
    assert_eq!(
        start_of_day(Santiago, d(2026, 4, 5)),
        Some(t(2026, 4, 5, 4, 0, 0))
    );
    assert!(c.is_holiday(t(2026, 4, 5, 3, 30, 0)));
    assert_eq!(
        c.dyno_hours(t(2026, 4, 4, 3, 0, 0), t(2026, 4, 5, 4, 0, 0)),
        25.0
    );
}

#[test]
fn a_day_the_zone_skipped_has_no_length() {
    // Samoa went from 2011-12-29 straight to 2011-12-31.
    assert_eq!(
        start_of_day(Apia, d(2011, 12, 30)),
        start_of_day(Apia, d(2011, 12, 31))
    );
    let c = calendar(DEFAULT, None, Apia, "2011-12-30");
    let from = t(2011, 12, 29, 0, 0, 0);
    let edges = c.next_edges(from, 8);
    assert!(edges.windows(2).all(|w| w[0].at < w[1].at), "{edges:?}");
    assert!(edges.iter().all(|e| !e.holiday()), "{edges:?}");
    assert_eq!(c.dyno_hours(from, from + Duration::days(3)), {
        let normal = Schedule::parse(DEFAULT, Apia).unwrap();
        let mut total = 0.0;
        let mut since = from;
        let mut q = normal.floor(from).unwrap().quantity;
        for e in normal.next_edges(from, 20) {
            if e.at >= from + Duration::days(3) {
                break;
            }
            total += f64::from(q) * (e.at - since).num_seconds() as f64 / 3600.0;
            q = e.quantity;
            since = e.at;
        }
        total + f64::from(q) * (from + Duration::days(3) - since).num_seconds() as f64 / 3600.0
    });
}

// ---- properties over many calendars ---------------------------------------------------------

/// Deterministic xorshift, so failures reproduce.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// The definition, computed the slow way: the schedule of the local day, its floor.
fn oracle(c: &Calendar, at: DateTime<Utc>) -> Option<u32> {
    let date = at.with_timezone(&c.tz()).date_naive();
    let schedule = if c.holidays().contains(date) {
        c.holiday_schedule()
    } else {
        c.normal_schedule()
    };
    schedule.floor(at).map(|e| e.quantity)
}

#[test]
fn edges_floor_and_dyno_hours_agree_with_the_definition() {
    let cases: [(Tz, DateTime<Utc>); 5] = [
        (UTC, t(2026, 12, 10, 0, 0, 0)),
        (Berlin, t(2026, 3, 15, 0, 0, 0)),
        (Berlin, t(2026, 10, 12, 0, 0, 0)),
        (Havana, t(2026, 2, 25, 0, 0, 0)),
        (Santiago, t(2026, 8, 25, 0, 0, 0)),
    ];
    let schedules = [
        DEFAULT,
        "*/20 9-10 * * *=2; 0 9 * * 1-5=4; 30 0 * * *=1",
        "00:00=5; 12:00=3",
    ];
    let holiday_schedules = [
        None,
        Some("10:00=2; 16:00=1"),
        Some("00:00=0; 0 */6 * * *=1"),
    ];
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut checked_edges = 0;
    // Every schedule with every holiday schedule, each pair in some of the zones.
    for (k, (tz, start)) in cases.into_iter().enumerate() {
        for (i, schedule) in schedules.into_iter().enumerate() {
            let holiday = holiday_schedules[(k + i) % holiday_schedules.len()];
            // About a third of 16 days are holidays, in runs of one or more.
            let first = start.with_timezone(&tz).date_naive();
            let dates: Vec<String> = (0..16)
                .filter(|_| rng.next().is_multiple_of(3))
                .map(|i| (first + Duration::days(i)).to_string())
                .collect();
            let c = calendar(schedule, holiday, tz, &dates.join(","));
            let end = start + Duration::days(18);
            let edges: Vec<Edge> = c
                .next_edges(start, 2000)
                .into_iter()
                .take_while(|e| e.at < end)
                .collect();
            assert!(edges.len() > 15, "{tz} {schedule} {dates:?}");
            for pair in edges.windows(2) {
                let (a, b) = (pair[0], pair[1]);
                assert!(a.at < b.at, "{a:?} {b:?}");
                // The floor anywhere between two edges is the first of them.
                for at in [a.at, b.at - Duration::seconds(1)] {
                    assert_eq!(c.floor(at), Some(a), "{tz} {schedule} {dates:?} at {at}");
                }
                assert_eq!(c.next_edge_after(a.at), Some(b));
                assert_eq!(a.holiday(), c.is_holiday(a.at), "{a:?}");
                checked_edges += 1;
            }
            // Every change of the definition's quantity is at an edge, and the edge
            // carries the right quantity: sample every 23 minutes.
            let mut at = start + Duration::minutes(1);
            let mut index = 0;
            while at < edges.last().unwrap().at {
                while index + 1 < edges.len() && edges[index + 1].at <= at {
                    index += 1;
                }
                if edges[0].at <= at {
                    assert_eq!(
                        oracle(&c, at),
                        Some(edges[index].quantity),
                        "{tz} {schedule} {holiday:?} {dates:?} at {at}"
                    );
                }
                at += Duration::minutes(23);
            }
            // Dyno-hours are the edges' quantities times their durations.
            let from = edges[0].at;
            let to = edges.last().unwrap().at;
            let by_edges: f64 = edges
                .windows(2)
                .map(|w| f64::from(w[0].quantity) * (w[1].at - w[0].at).num_seconds() as f64)
                .sum::<f64>()
                / 3600.0;
            let exact = c.dyno_hours(from, to);
            assert!((exact - by_edges).abs() < 1e-9, "{exact} {by_edges}");
            // From an instant between edges too.
            let mid = from + Duration::minutes(7);
            let head = f64::from(edges[0].quantity) * 7.0 / 60.0;
            assert!((c.dyno_hours(mid, to) - (by_edges - head)).abs() < 1e-9);
        }
    }
    assert!(checked_edges > 800, "{checked_edges}");
}

#[test]
fn edges_do_not_depend_on_where_the_search_starts() {
    let c = calendar(
        "*/20 9-10 * * *=2; 0 9 * * 1-5=4; 30 0 * * *=1",
        Some("10:00=2; 16:00=1"),
        Berlin,
        "2026-03-27..2026-03-29, 2026-04-01, 2026-04-03",
    );
    let start = t(2026, 3, 25, 0, 0, 0);
    let all = c.next_edges(start, 200);
    let mut rng = Rng(7);
    for _ in 0..200 {
        let offset = Duration::seconds((rng.next() % (10 * 86_400)) as i64);
        let at = start + offset;
        let expected: Vec<Edge> = all.iter().filter(|e| e.at > at).take(3).copied().collect();
        assert_eq!(c.next_edges(at, 3), expected, "{at}");
        assert_eq!(c.next_edge_after(at), expected.first().copied(), "{at}");
    }
}

#[test]
fn a_holiday_schedule_that_never_fires_near_gives_no_floor_and_no_start_edge() {
    // A yearly holiday schedule: nothing fired within LOOKBACK_DAYS of the holiday.
    let c = calendar(DEFAULT, Some("0 0 1 6 *=4"), UTC, "2026-12-25");
    assert_eq!(c.floor(t(2026, 12, 25, 12, 0, 0)), None);
    assert_eq!(
        c.next_edges(t(2026, 12, 24, 21, 0, 0), 2),
        vec![
            edge(t(2026, 12, 24, 22, 0, 0), 2, Normal { entry: 1 }),
            edge(t(2026, 12, 26, 0, 0, 0), 2, HolidayEnd),
        ]
    );
    // The holiday counts 0 dyno-hours; the rest of the 24th and the 26th's first hour count.
    assert_eq!(
        c.dyno_hours(t(2026, 12, 24, 22, 0, 0), t(2026, 12, 26, 1, 0, 0)),
        2.0 * 2.0 + 2.0
    );
    // A holiday schedule firing only on days that are not holidays adds no edges.
    let c = calendar(DEFAULT, Some("0 12 * * 1=4"), UTC, "2026-12-25");
    let edges = c.next_edges(t(2026, 12, 20, 0, 0, 0), 30);
    assert!(
        edges.iter().all(|e| !matches!(e.kind, Holiday { .. })),
        "{edges:?}"
    );
    // Monday the 21st, 12:00 is the holiday schedule's latest firing in force on the 25th.
    assert_eq!(
        c.floor(t(2026, 12, 25, 1, 0, 0)),
        Some(edge(t(2026, 12, 25, 0, 0, 0), 4, HolidayStart))
    );
}

#[test]
fn a_floor_lapses_lookback_days_after_its_firing_inside_a_run_too() {
    // The holiday schedule fires yearly on Dec 20: in force from the run's start, it lapses
    // on Dec 28 00:00, LOOKBACK_DAYS after the firing, like any schedule's floor.
    let c = calendar(
        DEFAULT,
        Some("0 0 20 12 *=4"),
        UTC,
        "2026-12-25..2026-12-31",
    );
    assert_eq!(
        c.floor(t(2026, 12, 28, 0, 0, 0)),
        Some(edge(t(2026, 12, 25, 0, 0, 0), 4, HolidayStart))
    );
    assert_eq!(c.floor(t(2026, 12, 28, 0, 0, 1)), None);
    assert_eq!(
        c.dyno_hours(t(2026, 12, 25, 0, 0, 0), t(2027, 1, 1, 0, 0, 0)),
        3.0 * 24.0 * 4.0
    );
    // From the middle of the run, too.
    assert_eq!(
        c.dyno_hours(t(2026, 12, 26, 12, 0, 0), t(2026, 12, 30, 0, 0, 0)),
        36.0 * 4.0
    );
}

#[test]
fn holidays_far_apart_are_skipped_quickly() {
    // A dense normal schedule and a long run: the search jumps over the run.
    let c = calendar(
        "*/10 * * * * *=2; 0 0 12 * * *=3",
        Some("0 0 1 1 *=2"),
        UTC,
        "2026-01-01..2026-12-31",
    );
    let started = std::time::Instant::now();
    assert_eq!(
        c.next_edges(t(2025, 12, 31, 23, 59, 55), 3),
        vec![
            edge(t(2026, 1, 1, 0, 0, 0), 2, HolidayStart),
            edge(t(2027, 1, 1, 0, 0, 0), 2, HolidayEnd),
            edge(t(2027, 1, 1, 0, 0, 10), 2, Normal { entry: 0 }),
        ]
    );
    // The default holiday schedule's 00:00 on each day of 2026 is inside the run, so listed.
    let c = calendar(
        "*/10 * * * * *=2; 0 0 12 * * *=3",
        None,
        UTC,
        "2026-01-01..2026-12-31",
    );
    assert_eq!(
        c.next_edges(t(2026, 1, 1, 0, 0, 0), 1),
        vec![edge(t(2026, 1, 2, 0, 0, 0), 2, Holiday { entry: 0 })]
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[test]
fn extreme_instants_and_dates_do_not_panic() {
    let extremes = [
        DateTime::<Utc>::MIN_UTC,
        DateTime::<Utc>::MAX_UTC,
        t(1, 1, 1, 0, 0, 0),
        t(4999, 12, 31, 23, 59, 59),
        t(9999, 12, 31, 0, 0, 0),
    ];
    for tz in [
        UTC,
        Berlin,
        Havana,
        chrono_tz::Pacific::Kiritimati,
        chrono_tz::Etc::GMTPlus12,
    ] {
        let c = calendar(
            DEFAULT,
            Some("10:00=2"),
            tz,
            "0001-01-01, 4999-12-31, 9999-12-30..9999-12-31, 2026-12-25",
        );
        for at in extremes {
            let _ = c.floor(at);
            let _ = c.next_edges(at, 3);
            let _ = c.next_edge_after(at);
            let _ = c.is_holiday(at);
            let _ = c.dyno_hours(
                at,
                at + Duration::days(1).min(DateTime::<Utc>::MAX_UTC - at),
            );
        }
        let _ = c.dyno_hours(DateTime::<Utc>::MIN_UTC, t(1, 1, 20, 0, 0, 0));
        for day in [NaiveDate::MIN, NaiveDate::MAX] {
            let _ = start_of_day(tz, day);
        }
    }
    // Midnight falls on whole seconds.
    assert_eq!(
        start_of_day(Havana, d(2026, 3, 8)).map(|at| at.nanosecond()),
        Some(0)
    );
}
