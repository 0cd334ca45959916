use chrono::{DateTime, Datelike, Timelike, Utc, Weekday};

use super::estimate::*;
use super::optimize::*;
use super::render::*;
use super::*;
use crate::calendar::Calendar;
use crate::traffic::fixture::Fixture;
use chrono::NaiveDate;
use chrono_tz::Europe::Berlin;
use chrono_tz::UTC;

fn ts(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

fn minute(at: DateTime<Utc>, busy: f64) -> Minute {
    Minute {
        app: "shop".to_owned(),
        process: "web".to_owned(),
        minute: at,
        requests: 1,
        p50_ms: Some(100),
        p95_ms: Some(100),
        p99_ms: Some(100),
        errors: 0,
        h10: 0,
        h12: 0,
        h13: 0,
        s2xx: 1,
        s3xx: 0,
        s4xx: 0,
        s5xx: 0,
        busy,
        dynos: 1,
    }
}

/// The instant of local midnight starting `date` in `tz`.
fn midnight(tz: Tz, date: &str) -> DateTime<Utc> {
    let date: NaiveDate = date.parse().unwrap();
    date.and_hms_opt(0, 0, 0)
        .unwrap()
        .and_local_timezone(tz)
        .earliest()
        .unwrap()
        .with_timezone(&Utc)
}

/// A figure for every minute of `minutes` minutes from `from`, busy by local weekday and hour.
fn traffic(
    from: DateTime<Utc>,
    minutes: i64,
    tz: Tz,
    busy: impl Fn(Weekday, u32) -> f64,
) -> Vec<Minute> {
    (0..minutes)
        .map(|i| {
            let at = from + TimeDelta::minutes(i);
            let local = at.with_timezone(&tz);
            minute(at, busy(local.weekday(), local.hour()))
        })
        .collect()
}

fn weekend(day: Weekday) -> bool {
    matches!(day, Weekday::Sat | Weekday::Sun)
}

/// Needs 3 dynos (at concurrency 1, utilization 1) on weekdays 08:00-18:00, 1 otherwise.
fn office(day: Weekday, hour: u32) -> f64 {
    if !weekend(day) && (8..18).contains(&hour) {
        2.5
    } else {
        0.5
    }
}

/// A week of [`office`] traffic in UTC from Monday 2026-11-30.
/// A schedule with no holidays, as a current schedule is compared.
fn cal(schedule: Schedule) -> Calendar {
    Calendar::without_holidays(std::sync::Arc::new(schedule))
}

fn office_week() -> Vec<Minute> {
    traffic(ts("2026-11-30T00:00:00Z"), WEEK_MINUTES, UTC, office)
}

/// Concurrency 1 at utilization 1: the need is busy, rounded up.
fn exact() -> Options {
    Options {
        utilization: 1.0,
        ..Options::new(1)
    }
}

fn run(minutes: &[Minute], tz: Tz, options: &Options) -> Suggestion {
    suggest(minutes, tz, None, options).unwrap()
}

fn err(minutes: &[Minute], options: &Options) -> String {
    suggest(minutes, UTC, None, options)
        .unwrap_err()
        .to_string()
}

fn hour(s: &Suggestion, day: Weekday, hour: usize) -> &HourNeed {
    &s.hours[day.num_days_from_monday() as usize * 24 + hour]
}

/// Walks the suggested schedule's firings over `days` days from `from` and asserts that at
/// every minute the quantity in force is at least the need of the local hour (the entries
/// fire on whole minutes, so minute starts are all there is to check); at each hour's start
/// it also asks the schedule's own `floor`.
fn assert_covers(s: &Suggestion, tz: Tz, from: DateTime<Utc>, days: i64) {
    let schedule = s.parsed();
    let end = from + TimeDelta::days(days);
    let most = schedule.entries().len() * (days as usize + 1);
    let mut edges = schedule
        .next_edges(from, most)
        .into_iter()
        .filter(|e| e.at < end)
        .peekable();
    let mut quantity = schedule.floor(from).expect("a weekly schedule").quantity;
    let mut at = from;
    while at < end {
        while let Some(edge) = edges.next_if(|e| e.at <= at) {
            quantity = edge.quantity;
        }
        let local = at.with_timezone(&tz);
        let need = hour(s, local.weekday(), local.hour() as usize).needed;
        assert!(
            quantity >= need,
            "{at} ({local}): runs {quantity}, needs {need}"
        );
        if local.minute() == 0 {
            assert_eq!(schedule.floor(at).map(|e| e.quantity), Some(quantity));
        }
        at += TimeDelta::minutes(1);
    }
}

#[test]
fn an_office_week_scales_out_on_weekdays_with_lead_and_lag() {
    let minutes = office_week();
    let s = run(&minutes, UTC, &exact());
    assert_eq!(s.schedule, "45 7 * * 1-5=3; 30 18 * * 1-5=1");
    assert_eq!(hour(&s, Weekday::Mon, 8).needed, 3);
    assert_eq!(hour(&s, Weekday::Fri, 17).needed, 3);
    assert_eq!(hour(&s, Weekday::Fri, 18).needed, 1);
    assert_eq!(hour(&s, Weekday::Sat, 12).needed, 1);
    assert_eq!(hour(&s, Weekday::Mon, 7).busy_p95, 0.5);
    assert_eq!(hour(&s, Weekday::Mon, 8).busy_p95, 2.5);
    assert_eq!(s.peak, 3);
    // 3 dynos 10¾ hours on 5 days, 1 the other 114¼ hours.
    assert_eq!(s.dyno_hours_per_week.suggested, 3.0 * 53.75 + 114.25);
    assert_eq!(s.dyno_hours_per_week.at_peak, 504.0);
    assert_eq!(s.dyno_hours_per_week.at_max, None);
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    assert_covers(&s, UTC, ts("2026-11-30T00:00:00Z"), 7);

    let none = Options {
        lead: Duration::ZERO,
        lag: Duration::ZERO,
        ..exact()
    };
    assert_eq!(
        run(&minutes, UTC, &none).schedule,
        "0 8 * * 1-5=3; 0 18 * * 1-5=1"
    );
    // Rounded up to whole minutes.
    let odd = Options {
        lead: Duration::from_secs(61),
        lag: Duration::from_secs(3600 + 1),
        ..exact()
    };
    assert_eq!(
        run(&minutes, UTC, &odd).schedule,
        "58 7 * * 1-5=3; 1 19 * * 1-5=1"
    );
    // Across midnight, the week wrapping around: Monday's rise moves into Sunday.
    let long = Options {
        lead: Duration::from_secs(9 * 3600),
        lag: Duration::from_secs(7 * 3600),
        ..exact()
    };
    // Monday to Friday merge into one stretch, from Sunday 23:00 to Saturday 01:00.
    assert_eq!(
        run(&minutes, UTC, &long).schedule,
        "0 1 * * 6=1; 0 23 * * 0=3"
    );
}

#[test]
fn every_day_alike_is_daily_and_a_flat_week_is_one_entry() {
    let from = ts("2026-11-30T00:00:00Z");
    let daily = traffic(from, WEEK_MINUTES, UTC, |_, h| office(Weekday::Mon, h));
    assert_eq!(run(&daily, UTC, &exact()).schedule, "07:45=3; 18:30=1");
    let flat = traffic(from, WEEK_MINUTES, UTC, |_, _| 1.5);
    assert_eq!(run(&flat, UTC, &exact()).schedule, "00:00=2");
    let quiet = traffic(from, WEEK_MINUTES, UTC, |_, _| 0.0);
    let zero = Options { min: 0, ..exact() };
    assert_eq!(run(&quiet, UTC, &zero).schedule, "00:00=0");
}

#[test]
fn days_that_differ_get_entries_of_their_own() {
    // Saturday needs 2 from 10:00 to 14:00.
    let minutes = traffic(ts("2026-11-30T00:00:00Z"), WEEK_MINUTES, UTC, |d, h| {
        if d == Weekday::Sat && (10..14).contains(&h) {
            1.5
        } else {
            office(d, h)
        }
    });
    let precise = Options {
        simplify: 0.0,
        ..exact()
    };
    let s = run(&minutes, UTC, &precise);
    assert_eq!(
        s.schedule,
        "45 7 * * 1-5=3; 45 9 * * 6=2; 30 14 * * 6=1; 30 18 * * 1-5=1"
    );
    assert_covers(&s, UTC, ts("2026-11-30T00:00:00Z"), 7);
}

#[test]
fn cron_day_lists_read_like_a_week() {
    let days = |list: &[usize]| {
        let mut days = [false; 7];
        for &d in list {
            days[d] = true;
        }
        cron_days(&days)
    };
    assert_eq!(days(&[0, 1, 2, 3, 4]), "1-5");
    assert_eq!(days(&[5, 6]), "6,0");
    assert_eq!(days(&[0, 1]), "1,2");
    assert_eq!(days(&[0, 1, 2]), "1-3");
    assert_eq!(days(&[0, 2, 4]), "1,3,5");
    assert_eq!(days(&[0, 1, 2, 3, 4, 5]), "1-6");
    assert_eq!(days(&[1, 2, 3, 4, 5, 6]), "2-6,0");
    assert_eq!(days(&[0, 1, 3, 4, 5]), "1,2,4-6");
    assert_eq!(days(&[0, 5, 6]), "1,6,0");
    assert_eq!(days(&[6]), "0");
    assert_eq!(days(&[5]), "6");
    assert_eq!(days(&[]), "");
}

#[test]
fn a_dip_shorter_than_the_wiggle_room_disappears() {
    // Every day 3 dynos, but 1 from 12:00 to 13:00.
    let minutes = traffic(ts("2026-11-30T00:00:00Z"), WEEK_MINUTES, UTC, |_, h| {
        if h == 12 {
            0.5
        } else {
            2.5
        }
    });
    let precise = Options {
        simplify: 0.0,
        ..exact()
    };
    // In at 12:30 (lag), out again at 12:45 (lead before 13:00).
    assert_eq!(run(&minutes, UTC, &precise).schedule, "12:30=1; 12:45=3");
    let calm = Options {
        lag: Duration::from_secs(45 * 60),
        ..precise.clone()
    };
    assert_eq!(run(&minutes, UTC, &calm).schedule, "00:00=3");
    // Simplifying raises it too: 14 extra dyno-hours of a budget of 10 % of 490.
    let s = run(&minutes, UTC, &exact());
    assert_eq!(s.schedule, "00:00=3");
    assert_eq!(s.dyno_hours_per_week.suggested, 504.0);
    assert_eq!(hour(&s, Weekday::Mon, 12).needed, 1);
}

#[test]
fn simplifying_spends_its_budget_where_it_spares_entries() {
    // Monday to Thursday need 4 from 09:00 to 17:00; Friday leaves an hour earlier.
    let shape = |d: Weekday, h: u32| {
        let end = if d == Weekday::Fri { 16 } else { 17 };
        if !weekend(d) && (9..end).contains(&h) {
            3.5
        } else {
            0.5
        }
    };
    let minutes = traffic(ts("2026-11-30T00:00:00Z"), WEEK_MINUTES, UTC, shape);
    let with = |simplify: f64| {
        let options = Options {
            simplify,
            ..exact()
        };
        run(&minutes, UTC, &options)
    };
    let precise = with(0.0);
    assert_eq!(
        precise.schedule,
        "45 8 * * 1-5=4; 30 16 * * 5=1; 30 17 * * 1-4=1"
    );
    let needs: u32 = precise.hours.iter().map(|h| h.needed).sum();
    assert_eq!(needs, 129 + 39 * 4);
    // Friday as long as the other days costs 3 dyno-hours: more than 1 % of 285, less than 2 %.
    assert_eq!(with(0.01).schedule, precise.schedule);
    let simpler = with(0.02);
    assert_eq!(simpler.schedule, "45 8 * * 1-5=4; 30 17 * * 1-5=1");
    assert_eq!(
        simpler.dyno_hours_per_week.suggested,
        precise.dyno_hours_per_week.suggested + 3.0
    );
    // The needs stay what the traffic said.
    assert_eq!(simpler.hours, precise.hours);
    assert_covers(&simpler, UTC, ts("2026-11-30T00:00:00Z"), 7);
}

#[test]
fn simplifying_takes_the_cheapest_entries_first() {
    // Every day 3 dynos, but 2 at 04:00 and 1 at 12:00: each dip costs two entries; raising
    // the first costs 7 dyno-hours, the second 14. A budget of 14 buys the first only.
    let minutes = traffic(
        ts("2026-11-30T00:00:00Z"),
        WEEK_MINUTES,
        UTC,
        |_, h| match h {
            4 => 1.5,
            12 => 0.5,
            _ => 2.5,
        },
    );
    let with = |simplify: f64| {
        run(
            &minutes,
            UTC,
            &Options {
                simplify,
                ..exact()
            },
        )
        .schedule
    };
    assert_eq!(with(0.0), "04:30=2; 04:45=3; 12:30=1; 12:45=3");
    // 3 % of 483 = 14.
    assert_eq!(with(0.03), "12:30=1; 12:45=3");
    // 5 % = 24: enough for both.
    assert_eq!(with(0.05), "00:00=3");

    // Equally cheap dips: the earlier one goes.
    let minutes = traffic(
        ts("2026-11-30T00:00:00Z"),
        WEEK_MINUTES,
        UTC,
        |_, h| match h {
            4 | 12 => 1.5,
            _ => 2.5,
        },
    );
    let options = Options {
        simplify: 0.02,
        ..exact()
    };
    assert_eq!(run(&minutes, UTC, &options).schedule, "12:30=2; 12:45=3");
}

#[test]
fn the_95th_percentile_is_the_nearest_rank_and_quiet_minutes_count() {
    let from = ts("2026-11-30T00:00:00Z");
    let mut minutes = vec![
        minute(from, 0.1),
        minute(from + TimeDelta::minutes(DAY_MINUTES - 1), 0.1),
    ];
    for i in 0..60 {
        let at = |h: i64| from + TimeDelta::minutes(h * 60 + i);
        // 10:00: 3 busy minutes of 60 are within the top 5 %.
        minutes.push(minute(at(10), if i < 3 { 10.0 } else { 1.0 }));
        // 11:00: 4 are not.
        minutes.push(minute(at(11), if i < 4 { 10.0 } else { 1.0 }));
        // 12:00: two busy minutes, 58 without a request.
        if i % 30 == 0 {
            minutes.push(minute(at(12), 9.0));
        }
    }
    let s = run(&minutes, UTC, &exact());
    let monday = |h| hour(&s, Weekday::Mon, h);
    assert_eq!((monday(10).busy_p95, monday(10).needed), (1.0, 1));
    assert_eq!((monday(11).busy_p95, monday(11).needed), (10.0, 10));
    assert_eq!((monday(12).busy_p95, monday(12).needed), (0.0, 1));
    assert_eq!(monday(12).minutes, 60);
    assert_eq!(s.traffic.minutes, 1440);
    assert_eq!(s.traffic.minutes_with_traffic, 2 + 120 + 2);

    assert_eq!(p95(&mut []), 0.0);
    assert_eq!(p95(&mut [7.0]), 7.0);
    let mut twenty: Vec<f64> = (1..=20).rev().map(f64::from).collect();
    assert_eq!(p95(&mut twenty), 19.0);
    let mut hundred_one: Vec<f64> = (1..=101).map(f64::from).collect();
    assert_eq!(p95(&mut hundred_one), 96.0);
}

#[test]
fn less_than_a_day_is_an_error_naming_how_much_there_is() {
    let from = ts("2026-11-30T00:00:00Z");
    let short = traffic(from, DAY_MINUTES - 1, UTC, office);
    assert_eq!(
            err(&short, &exact()),
            "suggest needs at least a day of traffic; this traffic spans 23h 59m (2026-11-30T00:00:00Z to 2026-11-30T23:59:00Z)"
        );
    assert!(matches!(
        suggest(&short, UTC, None, &exact()),
        Err(SuggestError::TooShort { .. })
    ));
    assert!(suggest(
        &traffic(from, DAY_MINUTES, UTC, office),
        UTC,
        None,
        &exact()
    )
    .is_ok());
    assert_eq!(
        err(&[], &exact()),
        "no usable traffic for this target: suggest needs at least a day of it"
    );
    let damaged = [minute(from, f64::NAN), minute(from, -1.0)];
    assert_eq!(
            err(&damaged, &exact()),
            "no usable traffic for this target (2 minutes with a damaged busy figure ignored): suggest needs at least a day of it"
        );
    assert_eq!(
            err(&damaged[..1], &exact()),
            "no usable traffic for this target (1 minute with a damaged busy figure ignored): suggest needs at least a day of it"
        );
    // Two lone minutes a day apart are a day of traffic, mostly quiet.
    let sparse = [
        minute(from, 2.0),
        minute(from + TimeDelta::minutes(DAY_MINUTES - 1), 2.0),
    ];
    let s = run(&sparse, UTC, &exact());
    assert_eq!(s.schedule, "00:00=1");
    assert_eq!(s.traffic.to, "2026-12-01T00:00:00Z");
    // 23h 58m without a request is not yet warned about (a day is).
    assert_eq!(
            s.warnings,
            ["only 1 day of traffic: a week or more shows the weekly shape; 144 hours of the week are not in it and borrow the same hour of the days that are"]
        );
}

#[test]
fn more_than_a_year_is_an_error() {
    let from = ts("2025-01-01T00:00:00Z");
    let far = [minute(from, 1.0), minute(from + MAX_SPAN, 1.0)];
    assert_eq!(
            err(&far, &exact()),
            "this traffic spans 366 days 1m (2025-01-01T00:00:00Z to 2026-01-02T00:01:00Z); suggest reads at most 366 days (narrow the inputs or --since)"
        );
    let year = [
        minute(from, 1.0),
        minute(from + MAX_SPAN - TimeDelta::minutes(1), 1.0),
    ];
    let s = run(&year, UTC, &exact());
    assert_eq!(s.traffic.minutes, 366 * 1440);
}

#[test]
fn under_a_week_warns_and_borrows_the_hours_it_lacks() {
    let from = ts("2026-11-30T00:00:00Z");
    let two_days = traffic(from, 2 * DAY_MINUTES, UTC, office);
    let s = run(&two_days, UTC, &exact());
    assert_eq!(
            s.warnings,
            ["only 2 days of traffic: a week or more shows the weekly shape; 120 hours of the week are not in it and borrow the same hour of the days that are"]
        );
    // Saturday borrows the weekdays' hours.
    assert_eq!(hour(&s, Weekday::Sat, 12).minutes, 0);
    assert_eq!(hour(&s, Weekday::Sat, 12).needed, 3);
    assert_eq!(hour(&s, Weekday::Sat, 12).busy_p95, 2.5);
    assert_eq!(hour(&s, Weekday::Tue, 12).minutes, 60);
    assert_eq!(s.schedule, "07:45=3; 18:30=1");
    assert!(render_text(&s).contains("~ not in the traffic"));

    // A minute short of a week still sees every hour.
    let almost = traffic(from, WEEK_MINUTES - 1, UTC, office);
    let s = run(&almost, UTC, &exact());
    assert_eq!(
        s.warnings,
        ["only 6 days 23h 59m of traffic: a week or more shows the weekly shape"]
    );
    assert!(!render_text(&s).contains("~ not in the traffic"));
    assert!(run(&office_week(), UTC, &exact()).warnings.is_empty());
}

#[test]
fn an_hour_no_day_has_borrows_the_whole_traffic() {
    // A day from Berlin's spring-forward Sunday midnight never sees 02:00.
    let from = midnight(Berlin, "2026-03-29");
    let busy = |_, h| if h == 12 || h == 13 { 3.5 } else { 0.5 };
    let day = traffic(from, DAY_MINUTES, Berlin, busy);
    let s = run(&day, Berlin, &exact());
    assert_eq!(hour(&s, Weekday::Sun, 0).minutes, 60);
    assert_eq!(hour(&s, Weekday::Sun, 2).minutes, 0);
    assert_eq!(hour(&s, Weekday::Sun, 3).minutes, 60);
    assert_eq!(hour(&s, Weekday::Mon, 0).minutes, 60);
    // No other day has 02:00 either: the p95 of all 1440 minutes, 120 of them busy (8 %).
    assert_eq!(hour(&s, Weekday::Sun, 2).busy_p95, 3.5);
    assert_eq!(hour(&s, Weekday::Mon, 2).busy_p95, 3.5);
    // Monday has no 03:00 but Sunday has.
    assert_eq!(hour(&s, Weekday::Mon, 3).busy_p95, 0.5);
    assert_eq!(hour(&s, Weekday::Mon, 12).busy_p95, 3.5);
}

#[test]
fn minutes_belong_to_the_local_hour_they_fall_in_across_dst() {
    // Berlin falls back on Sunday 2026-10-25: 02:00-03:00 is lived twice (00:00Z-02:00Z).
    let from = midnight(Berlin, "2026-10-19");
    let end = midnight(Berlin, "2026-10-26");
    let second_pass = ts("2026-10-25T01:00:00Z")..ts("2026-10-25T02:00:00Z");
    let minutes: Vec<Minute> = traffic(from, (end - from).num_minutes(), Berlin, |_, _| 0.5)
        .into_iter()
        .map(|mut m| {
            if second_pass.contains(&m.minute) {
                m.busy = 4.0;
            }
            m
        })
        .collect();
    let s = run(&minutes, Berlin, &exact());
    assert_eq!(hour(&s, Weekday::Sun, 2).minutes, 120);
    assert_eq!(hour(&s, Weekday::Sun, 2).busy_p95, 4.0);
    assert_eq!(hour(&s, Weekday::Sun, 2).needed, 4);
    assert_eq!(hour(&s, Weekday::Sun, 1).minutes, 60);
    assert_eq!(hour(&s, Weekday::Sun, 3).needed, 1);
    assert_eq!(s.traffic.minutes, 7 * 1440 + 60);
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    assert_eq!(s.schedule, "45 1 * * 0=4; 30 3 * * 0=1");
    assert_covers(&s, Berlin, from, 7);
    assert_covers(&s, Berlin, midnight(Berlin, "2026-03-23"), 7);

    // Berlin springs forward on Sunday 2026-03-29: 02:00-03:00 never happens.
    let from = midnight(Berlin, "2026-03-23");
    let end = midnight(Berlin, "2026-03-30");
    let first_hour = ts("2026-03-29T01:00:00Z")..ts("2026-03-29T02:00:00Z");
    let minutes: Vec<Minute> = traffic(from, (end - from).num_minutes(), Berlin, |_, _| 0.5)
        .into_iter()
        .map(|mut m| {
            if first_hour.contains(&m.minute) {
                m.busy = 4.0;
            }
            m
        })
        .collect();
    let s = run(&minutes, Berlin, &exact());
    assert_eq!(s.traffic.minutes, 7 * 1440 - 60);
    assert_eq!(hour(&s, Weekday::Sun, 2).minutes, 0);
    assert_eq!(hour(&s, Weekday::Sun, 3).busy_p95, 4.0);
    assert_eq!(hour(&s, Weekday::Sun, 3).needed, 4);
    assert_eq!(s.schedule, "45 2 * * 0=4; 30 4 * * 0=1");
    assert_covers(&s, Berlin, from, 7);
    assert_covers(&s, Berlin, midnight(Berlin, "2026-10-19"), 7);
}

#[test]
fn firings_in_a_skipped_hour_leave_the_latest_quantity() {
    // Sundays: 3 at 01:00, 1 at 02:00, 5 from 03:00 to 05:00. With a lead and lag of 15
    // minutes both 02:15 (down to 1) and 02:45 (up to 5) fall in the hour Berlin skips in
    // spring; they fire together at 03:00 CEST, and 5 must win.
    let shape = |d: Weekday, h: u32| match (d, h) {
        (Weekday::Sun, 1) => 2.5,
        (Weekday::Sun, 3 | 4) => 4.5,
        _ => 0.5,
    };
    let from = midnight(Berlin, "2026-11-30");
    let minutes = traffic(from, WEEK_MINUTES, Berlin, shape);
    let options = Options {
        lead: Duration::from_secs(15 * 60),
        lag: Duration::from_secs(15 * 60),
        simplify: 0.0,
        ..exact()
    };
    let s = run(&minutes, Berlin, &options);
    assert_eq!(
        s.schedule,
        "45 0 * * 0=3; 15 2 * * 0=1; 45 2 * * 0=5; 15 5 * * 0=1"
    );
    assert_eq!(
        s.parsed()
            .floor(ts("2026-03-29T01:00:00Z"))
            .map(|e| e.quantity),
        Some(5)
    );
    assert_covers(&s, Berlin, midnight(Berlin, "2026-03-23"), 7);
    assert_covers(&s, Berlin, midnight(Berlin, "2026-10-19"), 7);
}

/// A week of the fixture's office traffic in Berlin, Monday 2026-11-30 on, 4 times its rate:
/// the weekday afternoons' busy is about 5, the nights' under 0.1.
fn fixture_week() -> Vec<Minute> {
    let mut fixture = Fixture::new(midnight(Berlin, "2026-11-30"), 7, Berlin);
    fixture.scale = 4.0;
    fixture.minutes()
}

#[test]
fn the_fixture_week_gives_a_schedule_that_follows_its_shape() {
    let minutes = fixture_week();
    let current = Calendar::without_holidays(std::sync::Arc::new(
        Schedule::parse("07:00=3; 22:00=2; 03:00=1", Berlin).unwrap(),
    ));
    let options = Options {
        max: Some(10),
        price: Some(0.05),
        ..Options::new(1)
    };
    let s = suggest(&minutes, Berlin, Some(&current), &options).unwrap();
    let needed = |d, h| hour(&s, d, h).needed;
    let (mon, wed, fri, sat, sun) = (
        Weekday::Mon,
        Weekday::Wed,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    );
    // More on weekday afternoons, fewer at night and on weekends; never below min.
    for day in [mon, wed, fri] {
        assert!(needed(day, 15) >= 6, "{day} 15:00: {}", needed(day, 15));
        assert_eq!(needed(day, 3), 1);
        assert!(needed(day, 15) > needed(sat, 15) + 2);
        assert!(needed(day, 15) > needed(sun, 15) + 2);
    }
    assert!(s.hours.iter().all(|h| h.needed >= 1));
    assert!(s.hours.iter().any(|h| h.needed == 1));
    // The same shape in the schedule: weekdays alike, the weekend alike.
    let entries = s.parsed().entries();
    assert!(entries.len() <= 14, "{}", s.schedule);
    for entry in entries {
        let days = entry.when.split(' ').nth(4).unwrap_or("*");
        assert!(["1-5", "6,0", "*"].contains(&days), "{}", s.schedule);
    }
    let at = |text: &str| s.parsed().floor(ts(text)).unwrap().quantity;
    let afternoon = at("2026-12-09T14:00:00Z"); // Wednesday 15:00
    assert!(afternoon >= 6);
    assert!(afternoon > at("2026-12-09T02:00:00Z")); // 03:00
    assert!(afternoon > at("2026-12-12T14:00:00Z") + 2); // Saturday 15:00
    assert!(s.parsed().entries().iter().all(|e| e.quantity >= 1));
    // Cheaper than always at the peak or at max; the current schedule runs short.
    let d = s.dyno_hours_per_week;
    assert!(d.suggested < d.at_peak, "{d:?}");
    assert!(d.at_peak <= d.at_max.unwrap());
    assert_eq!(d.current, Some(413.0));
    assert!(!s.short.is_empty());
    assert!(s.short.iter().all(|h| h.current < h.needed));
    let cost = s.cost.unwrap();
    assert!(cost.suggested.per_week < cost.at_peak.per_week);
    // Never below the need, in this week and in both DST weeks.
    for from in ["2026-11-30", "2026-03-23", "2026-10-19"] {
        assert_covers(&s, Berlin, midnight(Berlin, from), 7);
    }

    // Without simplifying: the same needs, more entries, no more dyno-hours.
    let precise = Options {
        simplify: 0.0,
        ..options
    };
    let p = suggest(&minutes, Berlin, Some(&current), &precise).unwrap();
    assert_eq!(p.hours, s.hours);
    assert!(p.parsed().entries().len() > entries.len());
    assert!(p.dyno_hours_per_week.suggested <= d.suggested);
    assert!(d.suggested <= p.dyno_hours_per_week.suggested * 1.1);
    assert_covers(&p, Berlin, midnight(Berlin, "2026-11-30"), 7);
}

#[test]
fn the_current_schedule_s_floor_on_a_holiday_is_the_holiday_s() {
    // The daemon runs the holiday schedule (the smallest quantity, 1) on a holiday: the
    // comparison reads the same floor, so a Monday holiday in the compared days shows 1 at 10:00.
    let minutes = office_week();
    let normal = std::sync::Arc::new(Schedule::parse("08:00=2; 18:00=1", UTC).unwrap());
    let monday = minutes.iter().map(|m| m.minute).min().unwrap().date_naive();
    let holidays = crate::calendar::Holidays::from_ranges([(monday, monday)]);
    let holiday = std::sync::Arc::new(Schedule::parse("00:00=1", UTC).unwrap());
    let with_holiday = Calendar::new(normal.clone(), holiday, std::sync::Arc::new(holidays));
    let without = Calendar::without_holidays(normal);
    let s = suggest(&minutes, UTC, Some(&without), &exact()).unwrap();
    let h = suggest(&minutes, UTC, Some(&with_holiday), &exact()).unwrap();
    assert_eq!(hour(&s, Weekday::Mon, 10).current, Some(2));
    assert_eq!(hour(&h, Weekday::Mon, 10).current, Some(1));
    assert_eq!(hour(&h, Weekday::Tue, 10).current, Some(2));
    // The typical week's dyno-hours are the normal schedule's, as the suggestion's are.
    assert_eq!(h.dyno_hours_per_week.current, s.dyno_hours_per_week.current);
}

#[test]
fn without_a_price_the_current_schedule_s_sizes_are_priced_at_list_prices() {
    let minutes = office_week();
    let sized = Calendar::without_holidays(std::sync::Arc::new(
        Schedule::parse("08:00=2:standard-2x; 18:00=1:standard-1x", UTC).unwrap(),
    ));
    let s = suggest(&minutes, UTC, Some(&sized), &exact()).unwrap();
    let cost = s.cost.unwrap();
    assert!(cost.list_prices);
    // 2 × 10 h of Standard-2X and 14 h of one Standard-1X a day, over 34 dyno-hours.
    let average = (20.0 * 50.0 + 14.0 * 25.0) / 720.0 / 34.0;
    assert_eq!(
        cost.price_per_dyno_hour,
        (average * 10_000.0_f64).round() / 10_000.0
    );
    assert_eq!(
        cost.current.unwrap().per_week,
        (cost.price_per_dyno_hour * 7.0 * 34.0 * 100.0).round() / 100.0
    );
    let text = render_text(&s);
    assert!(
        text.contains("cost at Heroku's list prices (0.0551 per dyno-hour, the current schedule's sizes; --price overrides)"),
        "{text}"
    );
    // --price wins; a schedule without sizes has no cost without it.
    let priced = Options {
        price: Some(0.05),
        ..exact()
    };
    let p = suggest(&minutes, UTC, Some(&sized), &priced).unwrap();
    assert_eq!(p.cost.unwrap().price_per_dyno_hour, 0.05);
    assert!(!p.cost.unwrap().list_prices);
    let plain = Calendar::without_holidays(std::sync::Arc::new(
        Schedule::parse("08:00=2; 18:00=1", UTC).unwrap(),
    ));
    assert_eq!(
        suggest(&minutes, UTC, Some(&plain), &exact()).unwrap().cost,
        None
    );
    assert_eq!(suggest(&minutes, UTC, None, &exact()).unwrap().cost, None);
}

#[test]
fn the_current_schedule_is_compared_hour_by_hour() {
    let minutes = office_week();
    let current = Calendar::without_holidays(std::sync::Arc::new(
        Schedule::parse("08:00=2; 18:00=1", UTC).unwrap(),
    ));
    let options = Options {
        price: Some(0.05),
        max: Some(4),
        ..exact()
    };
    let s = suggest(&minutes, UTC, Some(&current), &options).unwrap();
    assert_eq!(s.current.as_deref(), Some("08:00=2; 18:00=1"));
    assert_eq!(s.short.len(), 50);
    assert_eq!(
        s.short[0],
        ShortHour {
            weekday: "Mon".to_owned(),
            hour: 8,
            needed: 3,
            current: 2
        }
    );
    assert_eq!(hour(&s, Weekday::Sat, 9).current, Some(2));
    assert_eq!(hour(&s, Weekday::Sat, 7).current, Some(1));
    let d = s.dyno_hours_per_week;
    assert_eq!(d.current, Some(7.0 * (10.0 * 2.0 + 14.0)));
    assert_eq!(d.at_max, Some(4.0 * 168.0));
    let cost = s.cost.unwrap();
    assert_eq!(cost.price_per_dyno_hour, 0.05);
    assert_eq!(
        cost.current,
        Some(Money {
            per_week: 11.9,
            per_month: 51.74
        })
    );
    assert_eq!(
        cost.suggested,
        Money {
            per_week: 13.78,
            per_month: 59.89
        }
    );
    assert_eq!(cost.at_peak.per_week, 25.2);
    assert_eq!(cost.at_max.unwrap().per_week, 33.6);

    // A dip of one second at 12:00:30 counts; so does a change in the middle of an hour.
    let dip = Schedule::parse(
        "00:00=3; 30 0 12 * * *=1; 31 0 12 * * *=3; 30 15 * * *=0; 16:00=3",
        UTC,
    )
    .unwrap();
    let s = suggest(&minutes, UTC, Some(&cal(dip)), &exact()).unwrap();
    assert_eq!(hour(&s, Weekday::Tue, 11).current, Some(3));
    assert_eq!(hour(&s, Weekday::Tue, 12).current, Some(1));
    assert_eq!(hour(&s, Weekday::Tue, 13).current, Some(3));
    assert_eq!(hour(&s, Weekday::Tue, 15).current, Some(0));
    assert_eq!(hour(&s, Weekday::Tue, 16).current, Some(3));
    // Short at 12:00 on weekdays (needs 3, runs 1 for a second), at 15:00 every day.
    assert_eq!(s.short.len(), 5 + 7);

    // A schedule denser than a chunk of firings is walked to the end.
    let dense = Schedule::parse("*/10 * * * *=2; 5-59/10 * * * *=1", UTC).unwrap();
    let s = suggest(&minutes, UTC, Some(&cal(dense)), &exact()).unwrap();
    assert!(s.hours.iter().all(|h| h.current == Some(1)));

    // Nothing fired lately: no floor, counted as 0.
    let yearly = Schedule::parse("0 0 1 1 *=4", UTC).unwrap();
    let s = suggest(&minutes, UTC, Some(&cal(yearly)), &exact()).unwrap();
    assert!(s.hours.iter().all(|h| h.current == Some(0)));
    assert_eq!(s.short.len(), 168);
    assert_eq!(s.dyno_hours_per_week.current, Some(0.0));

    let s = suggest(&minutes, UTC, None, &exact()).unwrap();
    assert!(s.hours.iter().all(|h| h.current.is_none()));
    assert!(s.short.is_empty());
    assert_eq!(s.current, None);
    assert_eq!(s.dyno_hours_per_week.current, None);
}

#[test]
fn the_comparison_covers_an_hour_a_spring_week_skips() {
    // The traffic starts in Berlin's spring-forward week; the second week has Sunday 02:00.
    let from = midnight(Berlin, "2026-03-23");
    let minutes = traffic(from, WEEK_MINUTES, Berlin, office);
    let current = Calendar::without_holidays(std::sync::Arc::new(
        Schedule::parse("00:00=1", Berlin).unwrap(),
    ));
    let s = suggest(&minutes, Berlin, Some(&current), &exact()).unwrap();
    assert!(s.hours.iter().all(|h| h.current == Some(1)));
    assert_eq!(lowest_by_hour(&current, Berlin, from)[6 * 24 + 2], Some(1));
    // One week alone would not have it.
    let week_late = from + TimeDelta::days(COMPARE_DAYS);
    assert!(week_late.checked_add_signed(TimeDelta::days(1)).is_some());
    assert_eq!(
        lowest_by_hour(
            &current,
            Berlin,
            DateTime::<Utc>::MAX_UTC - TimeDelta::days(3)
        ),
        vec![None; HOURS_PER_WEEK]
    );
}

#[test]
fn min_max_and_headroom() {
    let minutes = office_week();
    let s = run(&minutes, UTC, &Options { min: 2, ..exact() });
    assert!(s.hours.iter().all(|h| h.needed >= 2));
    assert_eq!(s.schedule, "45 7 * * 1-5=3; 30 18 * * 1-5=2");

    let capped = run(
        &minutes,
        UTC,
        &Options {
            max: Some(2),
            ..exact()
        },
    );
    assert_eq!(capped.peak, 2);
    assert_eq!(capped.schedule, "45 7 * * 1-5=2; 30 18 * * 1-5=1");
    assert_eq!(
            capped.warnings,
            ["the traffic needed more than max 2 in 50 hours of the week (up to 3): the suggestion stops at 2"]
        );
    let one = run(
        &traffic(ts("2026-11-30T00:00:00Z"), WEEK_MINUTES, UTC, |d, h| {
            if d == Weekday::Mon && h == 9 {
                9.5
            } else {
                office(d, h)
            }
        }),
        UTC,
        &Options {
            max: Some(3),
            ..exact()
        },
    );
    assert_eq!(
            one.warnings,
            ["the traffic needed more than max 3 in 1 hour of the week (up to 10): the suggestion stops at 3"]
        );
    assert!(run(
        &minutes,
        UTC,
        &Options {
            max: Some(3),
            ..exact()
        }
    )
    .warnings
    .is_empty());

    // 2.5 × 1.2 = 3 exactly: still 3 dynos; 2.5 × 1.3 = 3.25: 4.
    let plus20 = run(
        &minutes,
        UTC,
        &Options {
            headroom: 0.2,
            ..exact()
        },
    );
    assert_eq!(plus20.peak, 3);
    let plus30 = run(
        &minutes,
        UTC,
        &Options {
            headroom: 0.3,
            ..exact()
        },
    );
    assert_eq!(plus30.peak, 4);
    assert_eq!(hour(&plus30, Weekday::Sun, 0).needed, 1);
    // Concurrency and utilization: 2.5 / (2 × 0.5) = 2.5 → 3; 0.5 / 1 → 1.
    let two = Options {
        concurrency: 2,
        utilization: 0.5,
        ..Options::new(2)
    };
    assert_eq!(run(&minutes, UTC, &two).peak, 3);
    let four = Options {
        concurrency: 4,
        ..Options::new(4)
    };
    // 2.5 / (4 × 0.7) < 1.
    assert_eq!(run(&minutes, UTC, &four).schedule, "00:00=1");
}

#[test]
fn options_are_checked() {
    let minutes = office_week();
    let bad = |options: Options| err(&minutes, &options);
    let ok = |options: Options| assert!(suggest(&minutes, UTC, None, &options).is_ok());
    let base = exact;
    assert_eq!(
        bad(Options {
            concurrency: 0,
            ..base()
        }),
        "concurrency 0: must be a whole number from 1 to 10000"
    );
    assert_eq!(
        bad(Options {
            concurrency: 10_001,
            ..base()
        }),
        "concurrency 10001: must be a whole number from 1 to 10000"
    );
    ok(Options {
        concurrency: 10_000,
        ..base()
    });
    for u in [0.0, -0.5, 1.01, f64::NAN, f64::INFINITY] {
        assert_eq!(
            bad(Options {
                utilization: u,
                ..base()
            }),
            format!("utilization {u}: must be a share above 0 and at most 1 (0.7)")
        );
    }
    ok(Options {
        utilization: 1.0,
        ..base()
    });
    ok(Options {
        utilization: 0.01,
        ..base()
    });
    for h in [-0.1, 10.5, f64::NAN] {
        assert_eq!(
            bad(Options {
                headroom: h,
                ..base()
            }),
            format!("headroom {h}: must be a share from 0 to 10 (0.2 = 20 % more)")
        );
    }
    ok(Options {
        headroom: 10.0,
        ..base()
    });
    for x in [-0.1, 1.5, f64::NAN] {
        assert_eq!(
            bad(Options {
                simplify: x,
                ..base()
            }),
            format!("simplify {x}: must be a share from 0 to 1 (0.1 = up to 10 % more)")
        );
    }
    ok(Options {
        simplify: 1.0,
        ..base()
    });
    let day = Duration::from_secs(86_400);
    assert_eq!(
        bad(Options {
            lead: day + Duration::from_secs(1),
            ..base()
        }),
        "lead 1day 1s: must be at most 1 day (15m)"
    );
    assert_eq!(
        bad(Options {
            lag: day * 2,
            ..base()
        }),
        "lag 2days: must be at most 1 day (15m)"
    );
    ok(Options {
        lead: day,
        lag: day,
        ..base()
    });
    assert_eq!(
        bad(Options {
            min: 10_001,
            ..base()
        }),
        "min 10001: must be a whole number from 0 to 10000"
    );
    assert_eq!(
        bad(Options {
            max: Some(0),
            ..base()
        }),
        "max 0: must be a whole number from min (1) to 10000"
    );
    assert_eq!(
        bad(Options {
            max: Some(10_001),
            min: 0,
            ..base()
        }),
        "max 10001: must be a whole number from min (0) to 10000"
    );
    ok(Options {
        min: 10_000,
        max: Some(10_000),
        ..base()
    });
    ok(Options {
        min: 3,
        max: Some(3),
        ..base()
    });
    for p in [-0.01, 1e7, f64::NAN] {
        assert_eq!(
            bad(Options {
                price: Some(p),
                ..base()
            }),
            format!("price {p}: must be a number from 0 to 1000000 (0.05)")
        );
    }
    ok(Options {
        price: Some(0.0),
        ..base()
    });
    ok(Options {
        price: Some(1e6),
        ..base()
    });
    // Options are checked before the traffic.
    assert_eq!(
        err(
            &[],
            &Options {
                concurrency: 0,
                ..base()
            }
        ),
        "concurrency 0: must be a whole number from 1 to 10000"
    );
}

#[test]
fn damaged_duplicate_and_unordered_minutes() {
    let mut minutes = office_week();
    let monday_nine = ts("2026-11-30T09:00:00Z");
    // The same minute again with more busy (from a second source): the larger counts.
    for i in 0..4 {
        minutes.push(minute(monday_nine + TimeDelta::minutes(i), 5.5));
    }
    // …and with less: it changes nothing.
    minutes.push(minute(monday_nine + TimeDelta::minutes(10), 0.0));
    for busy in [f64::NAN, -0.01, MAX_BUSY * 1.01, f64::INFINITY] {
        minutes.push(minute(monday_nine, busy));
    }
    minutes.push(minute(monday_nine, MAX_BUSY));
    let s = run(&minutes, UTC, &exact());
    // 09:00 (MAX_BUSY, the largest usable) and 09:01-09:03 (5.5) are the top 4 of 60.
    assert_eq!(hour(&s, Weekday::Mon, 9).busy_p95, 5.5);
    assert_eq!(hour(&s, Weekday::Mon, 9).needed, 6);
    assert_eq!(s.traffic.ignored, 4);
    assert_eq!(s.traffic.minutes, WEEK_MINUTES as u64);
    assert_eq!(s.traffic.minutes_with_traffic, WEEK_MINUTES as u64);
    assert_eq!(
        s.warnings,
        ["4 minutes with a damaged busy figure (not a number from 0 to 1000000000) ignored"]
    );

    let mut again = office_week();
    again.push(minute(monday_nine + TimeDelta::minutes(1), 3.5));
    again.push(minute(monday_nine + TimeDelta::minutes(2), 3.5));
    again.push(minute(monday_nine + TimeDelta::minutes(3), 3.5));
    let ordered = run(&again, UTC, &exact());
    assert_eq!(hour(&ordered, Weekday::Mon, 9).busy_p95, 2.5);
    again.push(minute(monday_nine + TimeDelta::minutes(4), 3.5));
    let ordered = run(&again, UTC, &exact());
    assert_eq!(hour(&ordered, Weekday::Mon, 9).busy_p95, 3.5);
    // Order does not matter; seconds within a minute neither.
    again.reverse();
    again[0].minute += TimeDelta::seconds(59);
    let reversed = run(&again, UTC, &exact());
    assert_eq!(render_json(&reversed), render_json(&ordered));
}

#[test]
fn a_long_quiet_stretch_is_warned_about() {
    // No request on Wednesday at all: maybe quiet, maybe the recording stopped.
    let minutes: Vec<Minute> = office_week()
        .into_iter()
        .filter(|m| m.minute.weekday() != Weekday::Wed)
        .collect();
    let s = run(&minutes, UTC, &exact());
    assert_eq!(
            s.warnings,
            ["no request at all for 1 day from 2026-12-02T00:00:00Z: counted as quiet; if the recording stopped then, the suggestion is too low for those hours"]
        );
    assert_eq!(hour(&s, Weekday::Wed, 12).busy_p95, 0.0);
    assert_eq!(hour(&s, Weekday::Wed, 12).minutes, 60);
    // A minute less is not warned about.
    let mut minutes = minutes;
    minutes.push(minute(ts("2026-12-02T12:00:00Z"), 0.5));
    let s = run(&minutes, UTC, &exact());
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
}

#[test]
fn whole_minutes_round_up() {
    assert_eq!(whole_minutes(Duration::ZERO), 0);
    assert_eq!(whole_minutes(Duration::from_nanos(1)), 1);
    assert_eq!(whole_minutes(Duration::from_secs(60)), 1);
    assert_eq!(whole_minutes(Duration::from_secs(61)), 2);
    assert_eq!(whole_minutes(MAX_SHIFT), DAY_MINUTES);
}

#[test]
fn entries_are_counted_by_hour_quantity_and_direction() {
    let mut plan = vec![1; 48];
    assert_eq!(entry_count(&plan), 0);
    plan[8] = 3;
    plan[32] = 3;
    // Both days rise at 08:00 and fall at 09:00: two entries.
    assert_eq!(entry_count(&plan), 2);
    plan[33] = 3;
    assert_eq!(entry_count(&plan), 3);
    // A rise to 2 and a fall to 2 at the same hour are two entries.
    let plan = [
        1, 2, 3, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    ];
    assert_eq!(entry_count(&plan), 4);
    let mut two_days = plan.to_vec();
    two_days.extend([1; 24]);
    two_days[24 + 1] = 2;
    two_days[24 + 2] = 2;
    // Day 2 rises to 2 at 01:00 like day 1 (shared) and falls to 1 at 03:00 (day 1 falls to
    // 2 then, and to 1 at 04:00): one entry more.
    assert_eq!(entry_count(&two_days), 5);
}

#[test]
fn moves_only_raise_runs_and_align_days() {
    // One day of hours, the week wrapping around within it: a dip, a step, a peak.
    let mut plan = vec![2; 24];
    plan[3] = 1;
    plan[10] = 3;
    plan[11] = 3;
    plan[12] = 4;
    let moves = super::optimize::moves(&plan);
    // From the first change on: the dip at 03:00 rises to 2, the step 04:00-09:59 to 3, the
    // stair 10:00-11:59 to 4; the peak at 12:00 stays; 13:00-02:59 (across the wrap) rises
    // to 4 (its other neighbour, the dip, is lower).
    let mut expected = Vec::new();
    let mut dip = plan.clone();
    dip[3] = 2;
    expected.push(dip);
    let mut step = plan.clone();
    step[4..10].fill(3);
    expected.push(step);
    let mut stair = plan.clone();
    stair[10..12].fill(4);
    expected.push(stair);
    let mut wrap = plan.clone();
    wrap[13..].fill(4);
    wrap[..3].fill(4);
    expected.push(wrap);
    assert_eq!(moves, expected);
    assert!(super::optimize::moves(&[5; 24]).is_empty());

    // Two days that differ: the two runs of 1s rise to 2 (09:00 on day 1 and 10:00 on day
    // 2 are peaks), and the days aligned.
    let mut week = vec![1; 48];
    week[9] = 2;
    week[24 + 10] = 3;
    let moves = super::optimize::moves(&week);
    let mut aligned = week.clone();
    aligned[10] = 3;
    aligned[24 + 9] = 2;
    assert_eq!(moves.len(), 3);
    assert_eq!(moves[2], aligned);
    let mut first = week.clone();
    first[10..34].fill(2);
    assert_eq!(moves[0], first);
    // Alike days: each run on its own day, or on both.
    let alike = [week[..24].to_vec(), week[..24].to_vec()].concat();
    let moves = super::optimize::moves(&alike);
    assert_eq!(moves.len(), 4);
    let mut one = alike.clone();
    one[10..33].fill(2);
    assert_eq!(moves[0], one);
    assert_eq!(moves[1], vec![2; 48]);
    for m in &moves {
        assert!(m.iter().zip(&alike).all(|(a, b)| a >= b));
    }
}

#[test]
fn renders_for_people_and_for_programs() {
    let minutes = office_week();
    let current = Calendar::without_holidays(std::sync::Arc::new(
        Schedule::parse("08:00=2; 18:00=1", UTC).unwrap(),
    ));
    let options = Options {
        price: Some(0.05),
        max: Some(4),
        headroom: 0.1,
        ..exact()
    };
    let s = suggest(&minutes, UTC, Some(&current), &options).unwrap();
    let text = render_text(&s);
    let expect = [
            "suggested from 7 days of traffic (2026-11-30T00:00:00Z to 2026-12-07T00:00:00Z, 10080 minutes with requests), zone UTC\n",
            "concurrency 1 at 100 % utilization, headroom 10 %, lead 15m, lag 30m, simplify 10 %, min 1, max 4\n",
            "\nAUTOSCALE_SCHEDULE=\"45 7 * * 1-5=3; 30 18 * * 1-5=1\"\nAUTOSCALE_TZ=UTC\n\n",
            "dynos needed and busy (p95 of the hour's minutes, requests in service), by local hour\n",
            "hour     Mon      Tue      Wed      Thu      Fri      Sat      Sun\n",
            "00    1 0.50   1 0.50   1 0.50   1 0.50   1 0.50   1 0.50   1 0.50\n",
            "08    3 2.50!  3 2.50!  3 2.50!  3 2.50!  3 2.50!  1 0.50   1 0.50\n",
            "! the current schedule runs fewer\n\n",
            "dyno-hours per week   275.5 suggested, 238.0 with the current schedule, 504.0 always at the peak of 3, 672.0 always at max 4\n",
            "cost at 0.05 per dyno-hour   13.78 a week (59.89 a month) suggested, 11.90 a week (51.74 a month) with the current schedule, 25.20 a week (109.57 a month) at the peak, 33.60 a week (146.09 a month) at max\n",
            "\nthe current schedule (08:00=2; 18:00=1) runs fewer dynos than the traffic needed in 50 hours of the week:\n  Mon 08:00-18:00   needs 3, runs 2\n  Tue 08:00-18:00   needs 3, runs 2\n",
            "  Fri 08:00-18:00   needs 3, runs 2\n",
        ];
    for e in expect {
        assert!(text.contains(e), "missing {e:?} in\n{text}");
    }
    assert!(!text.contains("warning"), "{text}");
    assert_eq!(text.lines().filter(|l| l.starts_with("  ")).count(), 5);

    let json = render_json(&s);
    assert_eq!(json["schedule"], "45 7 * * 1-5=3; 30 18 * * 1-5=1");
    assert_eq!(json["tz"], "UTC");
    assert_eq!(json["current"], "08:00=2; 18:00=1");
    assert_eq!(json["peak"], 3);
    assert_eq!(json["traffic"]["minutes"], 10080);
    assert_eq!(json["traffic"]["from"], "2026-11-30T00:00:00Z");
    assert_eq!(json["options"]["lead"], "15m");
    assert_eq!(json["options"]["lag"], "30m");
    assert_eq!(json["options"]["headroom"], 0.1);
    assert_eq!(json["options"]["max"], 4);
    assert_eq!(json["dyno_hours_per_week"]["suggested"], 275.5);
    assert_eq!(json["dyno_hours_per_week"]["current"], 238.0);
    assert_eq!(json["dyno_hours_per_week"]["at_peak"], 504.0);
    assert_eq!(json["dyno_hours_per_week"]["at_max"], 672.0);
    assert_eq!(json["cost"]["suggested"]["per_month"], 59.89);
    assert_eq!(json["cost"]["current"]["per_week"], 11.9);
    assert_eq!(json["hours"].as_array().unwrap().len(), 168);
    assert_eq!(json["hours"][8]["weekday"], "Mon");
    assert_eq!(json["hours"][8]["hour"], 8);
    assert_eq!(json["hours"][8]["busy_p95"], 2.5);
    assert_eq!(json["hours"][8]["needed"], 3);
    assert_eq!(json["hours"][8]["current"], 2);
    assert_eq!(json["hours"][8]["minutes"], 60);
    assert_eq!(json["short"].as_array().unwrap().len(), 50);
    assert_eq!(json["short"][49]["weekday"], "Fri");
    assert_eq!(json["short"][49]["hour"], 17);
    assert_eq!(json["warnings"], serde_json::json!([]));

    // Without a current schedule, a price or a max: none of their lines.
    let plain = run(&minutes, UTC, &exact());
    let text = render_text(&plain);
    assert!(text.contains("min 1, max none\n"), "{text}");
    assert!(text.contains("dyno-hours per week   275.5 suggested, 504.0 always at the peak of 3\n"));
    for absent in ["cost", "current", "!"] {
        assert!(!text.contains(absent), "{absent} in\n{text}");
    }
    let json = render_json(&plain);
    assert_eq!(json["current"], serde_json::Value::Null);
    assert_eq!(json["cost"], serde_json::Value::Null);

    // A current schedule that is never short says so.
    let plenty = Schedule::parse("00:00=3", UTC).unwrap();
    let s = suggest(&minutes, UTC, Some(&cal(plenty)), &exact()).unwrap();
    assert!(render_text(&s).contains(
            "\nthe current schedule (00:00=3) runs at least what the traffic needed in every hour of the week\n"
        ));
    assert!(!render_text(&s).contains("! the current"));

    // Warnings come last.
    let two_days = traffic(ts("2026-11-30T00:00:00Z"), 2 * DAY_MINUTES, UTC, office);
    let text = render_text(&run(&two_days, UTC, &exact()));
    assert!(
        text.ends_with("borrow the same hour of the days that are\n"),
        "{text}"
    );
    assert!(text.contains("\nwarning: only 2 days of traffic"), "{text}");
}

#[test]
fn short_hours_group_into_runs() {
    let short = |weekday: &str, hour, needed, current| ShortHour {
        weekday: weekday.to_owned(),
        hour,
        needed,
        current,
    };
    let hours = [
        short("Mon", 8, 3, 2),
        short("Mon", 9, 3, 2),
        short("Mon", 10, 4, 2),
        short("Mon", 12, 4, 2),
        short("Mon", 13, 4, 1),
        short("Mon", 23, 2, 1),
        short("Tue", 0, 2, 1),
    ];
    assert_eq!(
        short_runs(&hours),
        [
            "Mon 08:00-10:00   needs 3, runs 2",
            "Mon 10:00-11:00   needs 4, runs 2",
            "Mon 12:00-13:00   needs 4, runs 2",
            "Mon 13:00-14:00   needs 4, runs 1",
            "Mon 23:00-24:00   needs 2, runs 1",
            "Tue 00:00-01:00   needs 2, runs 1",
        ]
    );
}

#[test]
fn settings_as_env_lines_and_as_a_toml_target() {
    let from = midnight(Berlin, "2026-11-30");
    let minutes = traffic(from, WEEK_MINUTES, Berlin, office);
    let s = run(&minutes, Berlin, &exact());
    assert_eq!(
        s.env(),
        "AUTOSCALE_SCHEDULE=\"45 7 * * 1-5=3; 30 18 * * 1-5=1\"\nAUTOSCALE_TZ=Europe/Berlin\n"
    );
    assert_eq!(
            s.toml("shop", "web"),
            "[[target]]\napp = \"shop\"\nprocess = \"web\"\nschedule = \"45 7 * * 1-5=3; 30 18 * * 1-5=1\"\ntz = \"Europe/Berlin\"\n"
        );
    // Names are quoted whatever they hold, and read back as written.
    let odd = "a\"b\\c\nd\u{7f}e\tf ü";
    let text = s.toml(odd, "web");
    assert!(
        text.contains(r#"app = "a\"b\\c\u000Ad\u007Fe\u0009f ü""#),
        "{text}"
    );
    #[derive(serde::Deserialize)]
    struct File {
        target: Vec<Target>,
    }
    #[derive(serde::Deserialize)]
    struct Target {
        app: String,
        process: String,
        schedule: String,
        tz: String,
    }
    let file: File = toml::from_str(&text).unwrap();
    let target = &file.target[0];
    assert_eq!(target.app, odd);
    assert_eq!(target.process, "web");
    assert_eq!(target.schedule, s.schedule);
    assert_eq!(target.tz, "Europe/Berlin");
    // The configuration reads it.
    let config = crate::config::Raw::from_pairs([(
        crate::config::field::CONFIG,
        s.toml("shop", "web").as_str(),
    )]);
    let targets = crate::config::targets(&config, &crate::config::Env::default()).unwrap();
    assert_eq!(targets.all[0].schedule.describe(), s.schedule);
    assert_eq!(targets.all[0].schedule.tz(), Berlin);
}
