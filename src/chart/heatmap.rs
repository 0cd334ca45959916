//! The week heatmap: requests by weekday and hour in the schedule's zone.
//!
//! Pure: no I/O, no clock.

use std::fmt::Write as _;

use chrono::{Datelike, Timelike};

use super::axis::{compact, text_width};
use super::draw::{escape, Head, Svg, FONT, MUTED, PLOT_W};
use super::panels::open_panel;
use super::summary::thousands;
use super::View;

/// The colour of a heatmap cell: white to yellow to red as `share` goes from 0 to 1.
pub(super) fn heat(share: f64) -> String {
    const STOPS: [(f64, [f64; 3]); 4] = [
        (0.0, [255.0, 255.0, 204.0]),
        (0.35, [254.0, 217.0, 118.0]),
        (0.7, [253.0, 141.0, 60.0]),
        (1.0, [189.0, 0.0, 38.0]),
    ];
    let s = if share.is_finite() {
        share.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let i = STOPS
        .iter()
        .rposition(|(at, _)| *at <= s)
        .unwrap_or(0)
        .min(STOPS.len() - 2);
    let ((a, ca), (b, cb)) = (STOPS[i], STOPS[i + 1]);
    let f = (s - a) / (b - a);
    let c: Vec<u8> = (0..3)
        .map(|k| (ca[k] + (cb[k] - ca[k]) * f).round() as u8)
        .collect();
    format!("#{:02x}{:02x}{:02x}", c[0], c[1], c[2])
}

/// Requests per minute by weekday (Monday first) and hour, in the target's zone: (requests,
/// minutes with traffic).
pub fn week_cells(view: &View<'_>) -> [[(u64, u32); 24]; 7] {
    let mut cells = [[(0u64, 0u32); 24]; 7];
    let tz = view.summary.zone;
    for m in view.data.minutes() {
        let local = m.minute.with_timezone(&tz);
        let (d, h) = (
            local.weekday().num_days_from_monday() as usize,
            local.hour() as usize,
        );
        cells[d][h].0 = cells[d][h].0.saturating_add(m.requests);
        cells[d][h].1 = cells[d][h].1.saturating_add(1);
    }
    cells
}

pub(super) fn heatmap_panel(svg: &mut Svg, view: &View<'_>, y: f64) -> f64 {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let zone = view.summary.zone;
    let head = Head {
        key: "heatmap",
        title: format!("Requests per minute by hour of the week ({zone})"),
        legend: Vec::new(),
        note: "mean of the minutes with traffic in each hour".to_owned(),
    };
    let top = open_panel(svg, &head, y, 18.0);
    let cells = week_cells(view);
    let cell_w = PLOT_W / 24.0;
    let cell_h = 22.0;
    let rate = |(requests, minutes): (u64, u32)| {
        (minutes > 0).then(|| requests as f64 / f64::from(minutes))
    };
    let highest = cells
        .iter()
        .flatten()
        .filter_map(|&c| rate(c))
        .fold(0.0, f64::max);
    let every = [1usize, 2, 3, 6]
        .into_iter()
        .find(|k| cell_w * *k as f64 >= text_width("00", FONT) + 10.0)
        .unwrap_or(6);
    for h in (0..24).step_by(every) {
        svg.text(
            (h as f64 + 0.5) * cell_w,
            -6.0,
            "middle",
            FONT,
            MUTED,
            r#" class="x-label""#,
            &format!("{h:02}"),
        );
    }
    for (d, name) in DAYS.iter().enumerate() {
        svg.text(
            -8.0,
            d as f64 * cell_h + cell_h / 2.0 + 4.0,
            "end",
            FONT,
            MUTED,
            r#" class="y-label""#,
            name,
        );
        for (h, &c) in cells[d].iter().enumerate() {
            let (fill, what) = match rate(c) {
                Some(r) => (
                    heat(if highest > 0.0 { r / highest } else { 0.0 }),
                    format!(
                        "{} requests a minute ({} requests in {} minutes)",
                        super::summary::trim_float(r),
                        thousands(c.0),
                        c.1
                    ),
                ),
                None => ("#eaeef2".to_owned(), "no traffic".to_owned()),
            };
            let _ = write!(
                svg.out,
                r##"<rect class="cell" x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{fill}" stroke="#ffffff" stroke-width="1"><title>{} {h:02}:00–{:02}:00: {}</title></rect>"##,
                h as f64 * cell_w,
                d as f64 * cell_h,
                cell_w,
                cell_h,
                name,
                h + 1,
                escape(&what)
            );
        }
    }
    let h = 7.0 * cell_h;
    if highest == 0.0 && cells.iter().flatten().all(|c| c.1 == 0) {
        svg.text(
            PLOT_W / 2.0,
            h / 2.0,
            "middle",
            15.0,
            MUTED,
            r#" class="nodata""#,
            "no router traffic in the input",
        );
    }
    // The colour scale: a strip of swatches with its ends and middle labelled.
    let (lx, ly, lw) = (0.0, h + 14.0, 240.0);
    for i in 0..24 {
        let _ = write!(
            svg.out,
            r#"<rect x="{:.1}" y="{ly:.1}" width="{:.1}" height="10" fill="{}"/>"#,
            lx + i as f64 * lw / 24.0,
            lw / 24.0 + 0.5,
            heat(i as f64 / 23.0)
        );
    }
    for (share, anchor) in [(0.0, "start"), (0.5, "middle"), (1.0, "end")] {
        svg.text(
            lx + share * lw,
            ly + 24.0,
            anchor,
            FONT,
            MUTED,
            "",
            &compact((highest * share * 10.0).round() / 10.0),
        );
    }
    svg.text(
        lx + lw + 12.0,
        ly + 9.0,
        "start",
        FONT,
        MUTED,
        "",
        "requests per minute",
    );
    svg.out.push_str("</g></g>");
    y + top + h + 60.0
}
