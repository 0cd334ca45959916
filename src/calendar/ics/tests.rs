use super::*;

const GOOGLE_DE: &str = include_str!("../fixtures/google-de.ics");
const APPLE_US: &str = include_str!("../fixtures/apple-us.ics");

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn window(y: i32, m: u32, day: u32) -> Window {
    Window::around(d(y, m, day))
}

fn dates(found: &FeedHolidays) -> Vec<NaiveDate> {
    found.holidays.dates().collect()
}

/// A calendar of `events`, each the lines of one VEVENT body.
fn feed(events: &[&str]) -> String {
    let mut text = String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n");
    for (i, body) in events.iter().enumerate() {
        text.push_str("BEGIN:VEVENT\r\n");
        if !body.contains("UID:") {
            text.push_str(&format!("UID:event-{i}\r\n"));
        }
        for line in body.lines() {
            text.push_str(line.trim());
            text.push_str("\r\n");
        }
        text.push_str("END:VEVENT\r\n");
    }
    text.push_str("END:VCALENDAR\r\n");
    text
}

fn holidays_of(text: &str, today: NaiveDate) -> Vec<NaiveDate> {
    dates(&holidays_from_ics(text, Window::around(today)).unwrap())
}

#[test]
fn window_is_yesterday_to_400_days_ahead() {
    let w = window(2026, 12, 20);
    assert_eq!(
        w,
        Window {
            first: d(2026, 12, 19),
            last: d(2028, 1, 24)
        }
    );
    assert!(w.contains(d(2026, 12, 19)));
    assert!(w.contains(d(2028, 1, 24)));
    assert!(!w.contains(d(2026, 12, 18)));
    assert!(!w.contains(d(2028, 1, 25)));
    // The ends of chrono's range do not panic.
    assert_eq!(Window::around(NaiveDate::MIN).first, NaiveDate::MIN);
    assert_eq!(Window::around(NaiveDate::MAX).last, NaiveDate::MAX);
}

#[test]
fn a_google_style_public_holiday_feed() {
    let found = holidays_from_ics(GOOGLE_DE, window(2026, 12, 20)).unwrap();
    assert_eq!(
        dates(&found),
        vec![
            d(2026, 12, 24),
            d(2026, 12, 25),
            d(2026, 12, 26),
            d(2026, 12, 31),
            d(2027, 1, 1),
            d(2027, 3, 26),
            d(2027, 3, 28),
            d(2027, 3, 29),
            d(2027, 5, 1),
            d(2027, 5, 6),
            d(2027, 5, 17),
            d(2027, 10, 3),
            d(2027, 12, 24),
            d(2027, 12, 25),
            d(2027, 12, 26),
            d(2027, 12, 31),
            d(2028, 1, 1),
        ]
    );
    assert_eq!(found.all_day_events, 21);
    assert_eq!(found.timed_events, 0);
    assert_eq!(found.capped_rules, 0);
}

#[test]
fn an_apple_style_feed_with_yearly_rules_a_moved_occurrence_and_an_exdate() {
    let found = holidays_from_ics(APPLE_US, window(2026, 11, 1)).unwrap();
    assert_eq!(
        dates(&found),
        vec![
            // Founders' Day 2026-11-02 is an EXDATE.
            d(2026, 11, 3), // Election Day, DURATION:P1D
            d(2026, 11, 11),
            d(2026, 11, 26), // Thanksgiving: the 4th Thursday
            d(2026, 12, 24), // Winter break, DTEND 12-28 exclusive ...
            d(2026, 12, 25), // ... overlapping Christmas
            d(2026, 12, 26),
            d(2026, 12, 27),
            d(2027, 1, 1),
            d(2027, 1, 18), // 3rd Monday
            d(2027, 2, 15),
            d(2027, 5, 31), // last Monday
            d(2027, 6, 19),
            d(2027, 7, 5), // moved from Sunday 07-04 by RECURRENCE-ID
            d(2027, 9, 6),
            d(2027, 11, 2),
            d(2027, 11, 11),
            d(2027, 11, 25),
        ]
    );
    // The DST event and the party are timed; the moved occurrence is an all-day event itself.
    assert_eq!(found.timed_events, 2);
    assert_eq!(found.all_day_events, 14);
    assert_eq!(found.capped_rules, 0);
}

#[test]
fn multi_day_events_count_each_day_and_dtend_is_exclusive() {
    let text = feed(&[
        "DTSTART;VALUE=DATE:20261224\nDTEND;VALUE=DATE:20261227",
        // No DTEND: one day. DTEND equal to DTSTART: one day too.
        "DTSTART;VALUE=DATE:20270101",
        "DTSTART;VALUE=DATE:20270106\nDTEND;VALUE=DATE:20270106",
        // A two-day duration.
        "DTSTART;VALUE=DATE:20270301\nDURATION:P2D",
        // A date without VALUE=DATE is a date all the same.
        "DTSTART:20270401",
        // A TZID on a date does not move it.
        "DTSTART;TZID=Pacific/Kiritimati;VALUE=DATE:20270501",
    ]);
    assert_eq!(
        holidays_of(&text, d(2026, 12, 1)),
        vec![
            d(2026, 12, 24),
            d(2026, 12, 25),
            d(2026, 12, 26),
            d(2027, 1, 1),
            d(2027, 1, 6),
            d(2027, 3, 1),
            d(2027, 3, 2),
            d(2027, 4, 1),
            d(2027, 5, 1),
        ]
    );
}

#[test]
fn timed_events_do_not_count() {
    let text = feed(&[
        "DTSTART:20261224T000000Z\nDTEND:20261226T000000Z",
        "DTSTART;TZID=Europe/Berlin:20261231T140000\nDTEND;TZID=Europe/Berlin:20270101T020000",
        "DTSTART:20261230T000000\nRRULE:FREQ=DAILY",
        "DTSTART;VALUE=DATE:20261225",
    ]);
    let found = holidays_from_ics(&text, window(2026, 12, 1)).unwrap();
    assert_eq!(dates(&found), vec![d(2026, 12, 25)]);
    assert_eq!(found.timed_events, 3);
    assert_eq!(found.all_day_events, 1);
}

#[test]
fn only_the_window_is_kept() {
    let text = feed(&[
        // Spans the whole window and more.
        "DTSTART;VALUE=DATE:20200101\nDTEND;VALUE=DATE:20300101",
    ]);
    let found = holidays_of(&text, d(2026, 6, 1));
    assert_eq!(found.first(), Some(&d(2026, 5, 31)));
    assert_eq!(found.last(), Some(&d(2027, 7, 6)));
    assert_eq!(found.len(), 402);
    let text = feed(&[
        "DTSTART;VALUE=DATE:20260530\nDTEND;VALUE=DATE:20260601",
        "DTSTART;VALUE=DATE:20270706\nDTEND;VALUE=DATE:20270709",
    ]);
    assert_eq!(
        holidays_of(&text, d(2026, 6, 1)),
        vec![d(2026, 5, 31), d(2027, 7, 6)]
    );
}

#[test]
fn rules_from_long_ago_reach_the_window_and_stop_at_its_end() {
    let text = feed(&[
        // Yearly since 1900: 128 steps to reach 2027.
        "DTSTART;VALUE=DATE:19001225\nRRULE:FREQ=YEARLY",
        // Weekly on Fridays since 1980: ~2450 steps, under the per-rule cap.
        "DTSTART;VALUE=DATE:19800104\nRRULE:FREQ=WEEKLY;BYDAY=FR;UNTIL=20261231",
        // A count, a past until, an interval.
        "DTSTART;VALUE=DATE:20261101\nRRULE:FREQ=MONTHLY;COUNT=3",
        "DTSTART;VALUE=DATE:20100815\nRRULE:FREQ=YEARLY;UNTIL=20200101",
        "DTSTART;VALUE=DATE:20200704\nRRULE:FREQ=YEARLY;INTERVAL=4",
    ]);
    let found = holidays_from_ics(&text, window(2026, 12, 1)).unwrap();
    assert_eq!(
        dates(&found),
        vec![
            d(2026, 12, 1),
            d(2026, 12, 4),
            d(2026, 12, 11),
            d(2026, 12, 18),
            d(2026, 12, 25),
            d(2027, 1, 1),
            d(2027, 12, 25),
        ]
    );
    assert_eq!(found.capped_rules, 0);
    // 2028-07-04 (every 4 years from 2020) is past this window but inside a later one.
    assert!(holidays_of(&text, d(2027, 7, 1)).contains(&d(2028, 7, 4)));
}

#[test]
fn a_rule_that_would_need_too_many_steps_is_reported_capped() {
    // Daily since 2000: the per-rule cap stops it years before the window.
    let text = feed(&[
        "DTSTART;VALUE=DATE:20000101\nRRULE:FREQ=DAILY",
        "DTSTART;VALUE=DATE:20261225",
    ]);
    let found = holidays_from_ics(&text, window(2026, 12, 1)).unwrap();
    assert_eq!(dates(&found), vec![d(2026, 12, 25)]);
    assert_eq!(found.capped_rules, 1);
    // Daily from last month: within the cap, every day of the window.
    let text = feed(&["DTSTART;VALUE=DATE:20261101\nRRULE:FREQ=DAILY"]);
    let found = holidays_from_ics(&text, window(2026, 12, 1)).unwrap();
    assert_eq!(found.holidays.len(), 402);
    assert_eq!(found.capped_rules, 0);
}

#[test]
fn exdates_count_as_steps_of_the_cap() {
    // Daily since 2000-01-01 with three EXDATEs: 2997 occurrences and 3 skipped steps use up
    // the 3000 steps, so the rule is reported capped.
    let text = feed(&["DTSTART;VALUE=DATE:20000101\nRRULE:FREQ=DAILY\nEXDATE;VALUE=DATE:20000102,20000103\nEXDATE;VALUE=DATE:20000104"]);
    let found = holidays_from_ics(&text, window(2026, 12, 1)).unwrap();
    assert_eq!(found.capped_rules, 1);
    assert!(found.holidays.is_empty());
}

#[test]
fn a_rule_that_ends_just_under_the_cap_is_not_reported_capped() {
    // COUNT=2999: every occurrence expanded, one step to spare (the other properties of the
    // event are not steps).
    let text = feed(&[
        "DTSTART;VALUE=DATE:20000101\nRRULE:FREQ=DAILY;COUNT=2999\nSUMMARY:a\nDESCRIPTION:b",
    ]);
    let found = holidays_from_ics(&text, window(2026, 12, 1)).unwrap();
    assert_eq!(found.capped_rules, 0);
}

#[test]
fn a_moved_occurrence_does_not_raise_its_rules_cap() {
    // Daily since 2017 needs ~4000 steps to reach the window: the rule's 3000 stop it, even
    // with a moved occurrence under the same UID.
    let text = feed(&[
        "UID:d\nDTSTART;VALUE=DATE:20170101\nRRULE:FREQ=DAILY",
        "UID:d\nRECURRENCE-ID;VALUE=DATE:20170102\nDTSTART;VALUE=DATE:20170103",
    ]);
    let found = holidays_from_ics(&text, window(2026, 12, 1)).unwrap();
    assert_eq!(found.capped_rules, 1);
    assert!(found.holidays.is_empty());
}

#[test]
fn the_cap_is_per_rule_when_one_uid_has_several() {
    // Two weekly rules under one UID, ~1980 steps each: 3960 is under 2 × 3000.
    let text = feed(&[
        "UID:same\nDTSTART;VALUE=DATE:19900101\nRRULE:FREQ=WEEKLY;BYDAY=MO",
        "UID:same\nDTSTART;VALUE=DATE:19900105\nRRULE:FREQ=WEEKLY;BYDAY=FR",
    ]);
    let found = holidays_from_ics(&text, window(2026, 12, 1)).unwrap();
    assert_eq!(found.capped_rules, 0);
    let mut weekdays: Vec<u32> = found
        .holidays
        .dates()
        .map(|day| day.weekday().number_from_monday())
        .collect();
    weekdays.sort_unstable();
    weekdays.dedup();
    assert_eq!(weekdays, vec![1, 5]);
    assert_eq!(found.holidays.len(), 58 + 57);
}

#[test]
fn the_feed_wide_budget_caps_the_later_rules() {
    // 40 weekly rules since 1975, ~2770 steps each: past the 100,000 budget after 36.
    let bodies: Vec<String> = (0..40)
        .map(|i| format!("DTSTART;VALUE=DATE:19750106\nRRULE:FREQ=WEEKLY;BYDAY=MO\nUID:w{i:02}"))
        .collect();
    let refs: Vec<&str> = bodies.iter().map(String::as_str).collect();
    let found = holidays_from_ics(&feed(&refs), window(2026, 12, 1)).unwrap();
    assert_eq!(found.capped_rules, 4);
    // The rules expanded before the budget ran out gave every Monday of the window.
    assert_eq!(found.holidays.len(), 58);
    assert!(found
        .holidays
        .dates()
        .all(|day| day.weekday() == chrono::Weekday::Mon));
}

#[test]
fn a_rule_that_never_matches_gives_nothing_and_ends() {
    let text = feed(&[
        "DTSTART;VALUE=DATE:20260101\nRRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
        "DTSTART;VALUE=DATE:20260101\nRRULE:FREQ=MONTHLY;BYMONTH=4;BYMONTHDAY=31",
        "DTSTART;VALUE=DATE:20261225",
    ]);
    assert_eq!(holidays_of(&text, d(2026, 12, 1)), vec![d(2026, 12, 25)]);
}

#[test]
fn a_moved_occurrence_that_becomes_timed_is_no_longer_a_holiday() {
    let text = feed(&[
        "UID:x\nDTSTART;VALUE=DATE:20201224\nRRULE:FREQ=YEARLY",
        "UID:x\nRECURRENCE-ID;VALUE=DATE:20261224\nDTSTART:20261224T090000Z\nDTEND:20261224T120000Z",
    ]);
    let found = holidays_from_ics(&text, window(2026, 12, 1)).unwrap();
    assert_eq!(dates(&found), vec![d(2027, 12, 24)]);
    assert_eq!(found.timed_events, 1);
}

#[test]
fn several_calendars_in_one_text_are_all_read() {
    let text = format!(
        "{}{}",
        feed(&["DTSTART;VALUE=DATE:20261225"]),
        feed(&["DTSTART;VALUE=DATE:20261226"])
    );
    assert_eq!(
        holidays_of(&text, d(2026, 12, 1)),
        vec![d(2026, 12, 25), d(2026, 12, 26)]
    );
    // LF line endings, a byte-order mark and stray lines are read as calendar apps read them.
    let lf = format!(
        "\u{feff}{}",
        feed(&["DTSTART;VALUE=DATE:20261225\nX-JUNK LINE WITHOUT COLON"]).replace("\r\n", "\n")
    );
    assert_eq!(holidays_of(&lf, d(2026, 12, 1)), vec![d(2026, 12, 25)]);
}

#[test]
fn what_is_not_a_feed_is_an_error() {
    let w = window(2026, 12, 1);
    for text in [
        "",
        "<!DOCTYPE html><html><body>Sign in</body></html>",
        "{\"error\":\"not found\"}",
        "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Someone\r\nEND:VCARD\r\n",
        "BEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20261225\r\nEND:VEVENT\r\n",
    ] {
        assert_eq!(
            holidays_from_ics(text, w),
            Err(IcsError::NotICalendar),
            "{text}"
        );
    }
    let full = feed(&["DTSTART;VALUE=DATE:20261225"]);
    let cut = &full[..full.find("END:VEVENT").unwrap()];
    assert_eq!(holidays_from_ics(cut, w), Err(IcsError::Truncated));
    // An empty calendar is a feed with no holidays.
    let found = holidays_from_ics(&feed(&[]), w).unwrap();
    assert!(found.holidays.is_empty());
    assert_eq!(found.all_day_events, 0);
    for e in [
        IcsError::TooLarge { bytes: 3 },
        IcsError::NotICalendar,
        IcsError::Truncated,
        IcsError::TooManyEvents,
        IcsError::TooManyRules,
    ] {
        assert!(!e.to_string().contains('\n'));
    }
    assert_eq!(
        IcsError::TooLarge { bytes: 3_000_000 }.to_string(),
        "the feed is 3000000 bytes; at most 2097152 are read"
    );
}

#[test]
fn caps_on_size_events_and_rules() {
    let w = window(2026, 12, 1);
    let mut big = feed(&["DTSTART;VALUE=DATE:20261225"]);
    big.push_str(&" ".repeat(MAX_TEXT_BYTES + 1 - big.len()));
    assert_eq!(
        holidays_from_ics(&big, w),
        Err(IcsError::TooLarge {
            bytes: MAX_TEXT_BYTES + 1
        })
    );
    big.pop();
    assert!(holidays_from_ics(&big, w).is_ok());

    let event = "DTSTART;VALUE=DATE:20261225";
    let at_cap = vec![event; MAX_EVENTS];
    assert!(holidays_from_ics(&feed(&at_cap), w).is_ok());
    let over = vec![event; MAX_EVENTS + 1];
    assert_eq!(
        holidays_from_ics(&feed(&over), w),
        Err(IcsError::TooManyEvents)
    );

    let rule = "DTSTART;VALUE=DATE:20201225\nRRULE:FREQ=YEARLY";
    let at_cap = vec![rule; MAX_RULES];
    let found = holidays_from_ics(&feed(&at_cap), w).unwrap();
    assert_eq!(dates(&found), vec![d(2026, 12, 25), d(2027, 12, 25)]);
    let over = vec![rule; MAX_RULES + 1];
    assert_eq!(
        holidays_from_ics(&feed(&over), w),
        Err(IcsError::TooManyRules)
    );
    // Timed rules are not expanded, so they do not count against the cap.
    let timed = vec!["DTSTART:20201225T100000Z\nRRULE:FREQ=YEARLY"; MAX_RULES + 1];
    assert!(holidays_from_ics(&feed(&timed), w).is_ok());
}

#[test]
fn deep_nesting_does_not_overflow_the_stack() {
    let mut text = String::from("BEGIN:VCALENDAR\r\n");
    let depth = 60_000;
    for _ in 0..depth {
        text.push_str("BEGIN:VEVENT\r\n");
    }
    text.push_str("DTSTART;VALUE=DATE:20261225\r\n");
    for _ in 0..depth {
        text.push_str("END:VEVENT\r\n");
    }
    text.push_str("END:VCALENDAR\r\n");
    assert!(text.len() < MAX_TEXT_BYTES);
    // Too many events, but an answer.
    assert_eq!(
        holidays_from_ics(&text, window(2026, 12, 1)),
        Err(IcsError::TooManyEvents)
    );
}

/// Deterministic xorshift, so failures reproduce.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn garbage_does_not_panic() {
    let w = window(2026, 12, 1);
    let lines: Vec<&str> = APPLE_US.lines().chain(GOOGLE_DE.lines()).collect();
    let atoms = [
        "BEGIN:VEVENT",
        "END:VEVENT",
        "BEGIN:VCALENDAR",
        "END:VCALENDAR",
        "DTSTART;VALUE=DATE:",
        "DTSTART:",
        "DTEND;VALUE=DATE:",
        "RRULE:FREQ=",
        "YEARLY",
        "DAILY",
        "SECONDLY",
        ";BYDAY=",
        "-1MO",
        "53FR",
        ";BYMONTHDAY=",
        "-31",
        ";BYSETPOS=",
        ";COUNT=",
        "4294967295",
        ";UNTIL=",
        ";INTERVAL=",
        "65535",
        "EXDATE;VALUE=DATE:",
        "RECURRENCE-ID;RANGE=THISANDFUTURE:",
        "DURATION:",
        "P99999999D",
        "-P1D",
        "PT",
        "20261225",
        "99991231",
        "00000000",
        "20260230",
        "T250000Z",
        ";TZID=",
        "Nowhere/Else",
        "UID:",
        "\r\n",
        "\r\n ",
        ":",
        ";",
        ",",
        "\"",
        "ü",
        "\u{0}",
    ];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut parsed = 0;
    for round in 0..1500 {
        let text = match round % 3 {
            // Lines of the fixtures, shuffled and repeated.
            0 => (0..1 + rng.below(80))
                .map(|_| lines[rng.below(lines.len())])
                .collect::<Vec<_>>()
                .join("\r\n"),
            // A fixture cut at a random character.
            1 => {
                let fixture = if rng.next() & 1 == 0 {
                    APPLE_US
                } else {
                    GOOGLE_DE
                };
                let mut cut = rng.below(fixture.len());
                while !fixture.is_char_boundary(cut) {
                    cut -= 1;
                }
                fixture[..cut].to_string()
            }
            // Atoms inside an event.
            _ => {
                let body: String = (0..1 + rng.below(40))
                    .map(|_| atoms[rng.below(atoms.len())])
                    .collect();
                format!(
                    "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n{body}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
                )
            }
        };
        if let Ok(found) = holidays_from_ics(&text, w) {
            parsed += 1;
            assert!(found.holidays.dates().all(|day| w.contains(day)));
        }
    }
    assert!(
        parsed > 300,
        "only {parsed} parsed; the generator is too weak"
    );
}
