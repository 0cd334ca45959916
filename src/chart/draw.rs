//! The SVG writer under the panels: layout sizes, colours, the element primitives, a panel's
//! head (title, wrapped legend) and a plot's frame and axes. Knows SVG, not traffic.
//!
//! Pure: no I/O, no clock.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use super::axis::{text_width, TimeAxis, ValueAxis};
use crate::probe::Outcome;

/// The image's width, in pixels.
pub const WIDTH: f64 = 1200.0;
pub(super) const LEFT: f64 = 84.0;
pub(super) const RIGHT: f64 = 28.0;
pub(super) const PLOT_W: f64 = WIDTH - LEFT - RIGHT;
pub(super) const FONT: f64 = 12.0;
pub(super) const TITLE_FONT: f64 = 15.0;
pub(super) const LEGEND_ROW: f64 = 18.0;
/// Room under a plot: tick labels, the day row and the caption.
pub(super) const X_AXIS_H: f64 = 50.0;
/// Least pixels per bucket of minutes.
pub(super) const BUCKET_PX: f64 = 2.0;

pub(super) const GRID: &str = "#e4e4e4";
pub(super) const INK: &str = "#24292f";
pub(super) const MUTED: &str = "#6e7781";
pub(super) const S2XX: &str = "#59a14f";
pub(super) const S3XX: &str = "#4e79a7";
pub(super) const S4XX: &str = "#f28e2b";
pub(super) const S5XX: &str = "#e15759";
pub(super) const H10: &str = "#7b1fa2";
pub(super) const H12: &str = "#b71c1c";
pub(super) const H13: &str = "#6d4c41";
pub(super) const P50: &str = "#6baed6";
pub(super) const P95: &str = "#08519c";
pub(super) const SLOW: &str = "#d62728";
pub(super) const FAST: &str = "#2ca02c";
pub(super) const BUSY: &str = "#4e79a7";
pub(super) const CAPACITY: &str = "#2ca02c";
pub(super) const QUANTITY: &str = "#1f77b4";
pub(super) const FLOOR: &str = "#6e7781";
pub(super) const MAX: &str = "#d62728";
pub(super) const SERVING: &str = "#17becf";
pub(super) const ALERT: &str = "#e377c2";
pub(super) const WAITING: &str = "#f28e2b";
pub(super) const LATENCY: &str = "#b07aa1";
pub(super) const OTHER: &str = "#bcbd22";

pub(super) fn outcome_colour(o: Outcome) -> &'static str {
    match o {
        Outcome::Fast => "#2ca02c",
        Outcome::Ok => "#1f77b4",
        Outcome::Slow => "#ff7f0e",
        Outcome::Down => "#d62728",
    }
}

pub(super) fn reason_colour(reason: &str) -> &'static str {
    match reason {
        "startup" => "#8c564b",
        "schedule" => "#9467bd",
        "down" => "#d62728",
        "slow" => "#ff7f0e",
        "floor" => "#6e7781",
        "scale_in" => "#2ca02c",
        "load" => "#17becf",
        "queue" => "#ff9da7",
        _ => OTHER,
    }
}

/// Text safe in SVG: XML's five escapes, control characters as spaces.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// An SVG document being written.
pub(super) struct Svg {
    pub(super) out: String,
}

// The primitives take the element's attributes in the order SVG writes them.
#[allow(clippy::too_many_arguments)]
impl Svg {
    pub(super) fn text(
        &mut self,
        x: f64,
        y: f64,
        anchor: &str,
        size: f64,
        fill: &str,
        extra: &str,
        text: &str,
    ) {
        let _ = write!(
            self.out,
            r#"<text x="{x:.1}" y="{y:.1}" text-anchor="{anchor}" font-size="{size}" fill="{fill}"{extra}>{}</text>"#,
            escape(text)
        );
    }

    pub(super) fn line(
        &mut self,
        x1: f64,
        y1: f64,
        x2: f64,
        y2: f64,
        stroke: &str,
        width: f64,
        dash: &str,
    ) {
        let dash = if dash.is_empty() {
            String::new()
        } else {
            format!(r#" stroke-dasharray="{dash}""#)
        };
        let _ = write!(
            self.out,
            r#"<path d="M{x1:.1},{y1:.1}L{x2:.1},{y2:.1}" stroke="{stroke}" stroke-width="{width}" fill="none"{dash}/>"#
        );
    }

    pub(super) fn path(
        &mut self,
        class: &str,
        d: &str,
        stroke: &str,
        width: f64,
        dash: &str,
        fill: &str,
    ) {
        if d.is_empty() {
            return;
        }
        let dash = if dash.is_empty() {
            String::new()
        } else {
            format!(r#" stroke-dasharray="{dash}""#)
        };
        let _ = write!(
            self.out,
            r#"<path class="series {class}" d="{d}" stroke="{stroke}" stroke-width="{width}" fill="{fill}"{dash}/>"#
        );
    }
}

/// How a legend entry shows its series.
#[derive(Debug, Clone, Copy)]
pub(super) enum Mark {
    Area(&'static str),
    Line(&'static str),
    Dashed(&'static str),
    Dot(&'static str),
    Cross(&'static str),
    Triangle(&'static str),
    Alert,
}

/// One panel's head: its title, legend and a note (drawn right of the title).
pub(super) struct Head {
    pub(super) key: &'static str,
    pub(super) title: String,
    pub(super) legend: Vec<(Mark, String)>,
    pub(super) note: String,
}

impl Head {
    /// Legend entries laid out in rows that fit the width: `(row, x, mark, label)`.
    pub(super) fn legend_layout(&self) -> Vec<(usize, f64, Mark, &str)> {
        let mut placed = Vec::new();
        let (mut row, mut x) = (0, 0.0);
        for (mark, label) in &self.legend {
            let w = 26.0 + text_width(label, FONT) + 18.0;
            if x > 0.0 && x + w > PLOT_W {
                row += 1;
                x = 0.0;
            }
            placed.push((row, x, *mark, label.as_str()));
            x += w;
        }
        placed
    }

    pub(super) fn height(&self) -> f64 {
        let rows = self.legend_layout().last().map_or(0, |(row, ..)| row + 1);
        26.0 + rows as f64 * LEGEND_ROW
    }

    pub(super) fn draw(&self, svg: &mut Svg) {
        svg.text(
            LEFT,
            16.0,
            "start",
            TITLE_FONT,
            INK,
            r#" font-weight="bold" class="panel-title""#,
            &self.title,
        );
        if !self.note.is_empty() {
            let x = LEFT + text_width(&self.title, TITLE_FONT) + 16.0;
            let room = WIDTH - RIGHT - x;
            if text_width(&self.note, FONT) <= room {
                svg.text(
                    x,
                    16.0,
                    "start",
                    FONT,
                    MUTED,
                    r#" class="note""#,
                    &self.note,
                );
            }
        }
        for (row, x, mark, label) in self.legend_layout() {
            let y = 26.0 + row as f64 * LEGEND_ROW + 6.0;
            let x0 = LEFT + x;
            draw_mark(svg, mark, x0, y);
            svg.text(
                x0 + 26.0,
                y + 4.0,
                "start",
                FONT,
                INK,
                r#" class="legend""#,
                label,
            );
        }
    }
}

pub(super) fn draw_mark(svg: &mut Svg, mark: Mark, x: f64, y: f64) {
    let _ = match mark {
        Mark::Area(c) => write!(
            svg.out,
            r#"<rect x="{x:.1}" y="{:.1}" width="20" height="10" fill="{c}" fill-opacity="0.85"/>"#,
            y - 5.0
        ),
        Mark::Line(c) => write!(
            svg.out,
            r#"<path d="M{x:.1},{y:.1}h20" stroke="{c}" stroke-width="2.5"/>"#
        ),
        Mark::Dashed(c) => write!(
            svg.out,
            r#"<path d="M{x:.1},{y:.1}h20" stroke="{c}" stroke-width="2" stroke-dasharray="5 3"/>"#
        ),
        Mark::Dot(c) => write!(
            svg.out,
            r#"<circle cx="{:.1}" cy="{y:.1}" r="4" fill="{c}"/>"#,
            x + 10.0
        ),
        Mark::Cross(c) => write!(
            svg.out,
            r#"<path d="M{:.1},{:.1}l8,8m0,-8l-8,8" stroke="{c}" stroke-width="2"/>"#,
            x + 6.0,
            y - 4.0
        ),
        Mark::Triangle(c) => write!(
            svg.out,
            r#"<path d="{}" fill="{c}"/>"#,
            triangle(x + 10.0, y, 6.0, false)
        ),
        Mark::Alert => write!(
            svg.out,
            r#"<path d="{}" fill="{ALERT}"/>"#,
            triangle(x + 10.0, y, 6.0, true)
        ),
    };
}

/// A triangle centred on (x, y), pointing up (or down).
pub(super) fn triangle(x: f64, y: f64, r: f64, down: bool) -> String {
    let s = if down { -1.0 } else { 1.0 };
    format!(
        "M{:.1},{:.1}L{:.1},{:.1}L{:.1},{:.1}Z",
        x,
        y - s * r,
        x + r,
        y + s * r * 0.8,
        x - r,
        y + s * r * 0.8
    )
}

/// A plot's frame: where it sits and its axes.
pub(super) struct Plot<'a> {
    pub(super) x: &'a TimeAxis,
    pub(super) y: ValueAxis,
}

impl Plot<'_> {
    pub(super) fn h(&self) -> f64 {
        self.y.height
    }

    /// Grid, y labels and caption, x ticks and labels, the frame; then the series are drawn in
    /// plot coordinates (the caller's group).
    pub(super) fn axes(&self, svg: &mut Svg, y_caption: &str) {
        let h = self.h();
        for (v, label) in &self.y.ticks {
            let y = self.y.y(*v);
            svg.line(0.0, y, PLOT_W, y, GRID, 1.0, "");
            svg.text(
                -8.0,
                y + 4.0,
                "end",
                FONT,
                MUTED,
                r#" class="y-label""#,
                label,
            );
        }
        for tick in &self.x.ticks {
            svg.line(tick.x, 0.0, tick.x, h, GRID, 1.0, "");
            svg.text(
                tick.x,
                h + 16.0,
                "middle",
                FONT,
                MUTED,
                r#" class="x-label""#,
                &tick.label,
            );
        }
        for day in &self.x.days {
            svg.text(
                day.x,
                h + 31.0,
                "middle",
                FONT,
                INK,
                r#" class="x-label day""#,
                &day.label,
            );
        }
        svg.text(
            PLOT_W / 2.0,
            h + 46.0,
            "middle",
            FONT,
            MUTED,
            r#" class="caption""#,
            &self.x.caption(),
        );
        let _ = write!(
            svg.out,
            r#"<text transform="translate({:.1},{:.1}) rotate(-90)" text-anchor="middle" font-size="{FONT}" fill="{MUTED}" class="caption">{}</text>"#,
            -LEFT + 16.0,
            h / 2.0,
            escape(y_caption)
        );
        let _ = write!(
            svg.out,
            r#"<rect x="0" y="0" width="{PLOT_W:.1}" height="{h:.1}" fill="none" stroke="{MUTED}" stroke-width="1"/>"#
        );
    }

    pub(super) fn no_data(&self, svg: &mut Svg, text: &str) {
        svg.text(
            PLOT_W / 2.0,
            self.h() / 2.0,
            "middle",
            15.0,
            MUTED,
            r#" class="nodata""#,
            text,
        );
    }

    pub(super) fn px(&self, t: DateTime<Utc>) -> f64 {
        self.x.x(t).clamp(-2.0, PLOT_W + 2.0)
    }
}
