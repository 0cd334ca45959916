//! The SVG writer under the panels: layout sizes, colours, the element primitives, a panel's
//! head (title, wrapped legend) and a plot's frame and axes. Knows SVG, not traffic.
//!
//! Pure: no I/O, no clock.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use super::axis::{text_width, TimeAxis, ValueAxis, LABEL_GAP};
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
pub(super) const PHASE_GREY: &str = "#f1f3f5";
pub(super) const PHASE_FAULT: &str = "#fde8e8";
pub(super) const PHASE_LINE: &str = "#8c959f";
pub(super) const PHASE_INSTANT: &str = "#e15759";
pub(super) const PHASE_FONT: f64 = 11.0;
/// Rows of phase names at a plot's top.
pub(super) const PHASE_ROWS: usize = 3;

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
#[derive(Default)]
pub(super) struct Svg {
    pub(super) out: String,
    /// What goes over a plot's series, written when its panel closes (the phases' names).
    pub(super) on_top: String,
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

/// The phases' names: `(x, row, label)`, each just right of where its phase starts (on the plot),
/// in the first of [`PHASE_ROWS`] rows where it touches no other name (past them, the row whose
/// last name ends first: a long story in a narrow plot may overlap, never a short one).
pub(super) fn phase_labels(axis: &TimeAxis) -> Vec<(f64, usize, &str)> {
    let mut ends = [f64::NEG_INFINITY; PHASE_ROWS];
    let mut out = Vec::new();
    for p in &axis.phases {
        let x = (axis.x(p.from).clamp(0.0, axis.width) + 3.0).min(axis.width);
        let w = text_width(&p.label, PHASE_FONT);
        let x = x.min((axis.width - w - 2.0).max(0.0));
        let row = (0..PHASE_ROWS)
            .find(|&r| ends[r] + LABEL_GAP <= x)
            .unwrap_or_else(|| {
                (0..PHASE_ROWS)
                    .min_by(|&a, &b| ends[a].total_cmp(&ends[b]))
                    .unwrap_or(0)
            });
        ends[row] = x + w;
        out.push((x, row, p.label.as_str()));
    }
    out
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

    /// The phases' bands (and their names), grid, y labels and caption, x ticks and labels, the
    /// frame; then the series are drawn in plot coordinates (the caller's group), over them.
    pub(super) fn axes(&self, svg: &mut Svg, y_caption: &str) {
        let h = self.h();
        self.phases(svg);
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

    /// Each phase as a tinted band (faults red, the others grey and white in turn) with a
    /// dashed line where it starts, an instant as a red line; their names at the plot's top, in
    /// the rows [`phase_labels`] gives, over the series (written when the panel closes).
    fn phases(&self, svg: &mut Svg) {
        let phases = &self.x.phases;
        if phases.is_empty() {
            return;
        }
        let h = self.h();
        svg.out.push_str(r#"<g class="phases">"#);
        let mut grey = false;
        for p in phases {
            let (a, b) = (self.px(p.from), self.px(p.to));
            let instant = p.to <= p.from;
            let fill = match (instant, p.fault) {
                (true, _) => None,
                (false, true) => Some(PHASE_FAULT),
                (false, false) => {
                    grey = !grey;
                    grey.then_some(PHASE_GREY)
                }
            };
            if let Some(fill) = fill {
                let _ = write!(
                    svg.out,
                    r#"<rect class="phase-band" x="{a:.1}" y="0" width="{:.1}" height="{h:.1}" fill="{fill}"/>"#,
                    (b - a).max(0.0)
                );
            }
            let (stroke, width, dash) = if instant {
                (PHASE_INSTANT, 1.5, "")
            } else {
                (PHASE_LINE, 1.0, r#" stroke-dasharray="3 3""#)
            };
            let _ = write!(
                svg.out,
                r#"<path class="phase-start" data-phase="{}" d="M{a:.1},0V{h:.1}" stroke="{stroke}" stroke-width="{width}" fill="none"{dash}/>"#,
                escape(&p.label)
            );
        }
        svg.out.push_str("</g>");
        svg.on_top.push_str(r#"<g class="phase-labels">"#);
        for (x, row, label) in phase_labels(self.x) {
            let _ = write!(
                svg.on_top,
                r##"<text class="phase-label" x="{x:.1}" y="{:.1}" text-anchor="start" font-size="{PHASE_FONT}" fill="{INK}" stroke="#ffffff" stroke-width="3" stroke-opacity="0.8" paint-order="stroke">{}</text>"##,
                11.0 + row as f64 * (PHASE_FONT + 2.0),
                escape(label)
            );
        }
        svg.on_top.push_str("</g>");
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::Phase;

    fn axis(phases: &[(i64, i64, &str)]) -> TimeAxis {
        let t0: DateTime<Utc> = "2026-12-07T10:00:00Z".parse().unwrap();
        let at = |s: i64| t0 + chrono::TimeDelta::seconds(s);
        let mut axis = TimeAxis::fit(at(0), at(60), chrono_tz::UTC, 600.0, FONT);
        axis.phases = phases
            .iter()
            .map(|&(from, to, label)| Phase {
                from: at(from),
                to: at(to),
                label: label.to_owned(),
                fault: false,
            })
            .collect();
        axis
    }

    #[test]
    fn phase_names_sit_where_their_phase_starts_in_rows_that_never_touch() {
        // 600 px for a minute (and 2 % margins): 9.4 px a second.
        let a = axis(&[
            (0, 20, "healthy"),
            (20, 21, "hang"),
            (21, 26, "recovery"),
            (21, 21, "burst: 150 jobs"),
            (26, 40, "quiet"),
            (40, 60, "the end"),
        ]);
        let labels = phase_labels(&a);
        let names: Vec<&str> = labels.iter().map(|l| l.2).collect();
        assert_eq!(
            names,
            [
                "healthy",
                "hang",
                "recovery",
                "burst: 150 jobs",
                "quiet",
                "the end"
            ]
        );
        let rows: Vec<usize> = labels.iter().map(|l| l.1).collect();
        // "recovery" and the burst start 1 s (10 px) after "hang" (26 px wide): rows down;
        // "quiet", 6 s (58 px) after "hang", has room in the first row again.
        // A fourth name where the three rows are taken: see the next test.
        assert_eq!(rows, [0, 0, 1, 2, 0, 0]);
        for (x, _, label) in &labels[..4] {
            let start = a
                .phases
                .iter()
                .find(|p| p.label == *label)
                .map(|p| a.x(p.from))
                .unwrap();
            assert!((x - (start + 3.0)).abs() < 1e-9, "{label}");
        }
        for (i, (x, row, label)) in labels.iter().enumerate() {
            for (x2, row2, label2) in &labels[i + 1..] {
                if row == row2 {
                    let apart = x + text_width(label, PHASE_FONT) + LABEL_GAP <= *x2
                        || x2 + text_width(label2, PHASE_FONT) + LABEL_GAP <= *x;
                    assert!(apart, "{label} and {label2}: {labels:?}");
                }
            }
        }
    }

    #[test]
    fn phase_names_stay_on_the_plot_and_too_many_share_the_emptiest_row() {
        // A name at the right end is moved left to fit; one starting before the axis at its
        // start.
        let a = axis(&[(-30, 10, "before"), (60, 60, "at the very end")]);
        let labels = phase_labels(&a);
        assert_eq!(labels[0].0, 3.0);
        let w = text_width("at the very end", PHASE_FONT);
        assert!((labels[1].0 + w + 2.0 - a.width).abs() < 1e-9);
        // Five names at one instant: three rows, then the row that ends first.
        let a = axis(&[
            (10, 10, "one"),
            (10, 10, "two"),
            (10, 10, "three"),
            (10, 10, "four"),
            (10, 10, "five"),
        ]);
        let rows: Vec<usize> = phase_labels(&a).iter().map(|l| l.1).collect();
        assert_eq!(rows, [0, 1, 2, 0, 1]);
        assert!(phase_labels(&axis(&[])).is_empty());
    }
}
