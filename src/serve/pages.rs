//! The dashboard's answers: pages, JSON, the two static files, and the Content-Security-Policy
//! that lets only these pages' own scripts and styles run.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::index::Row;
use super::RANGES;
use crate::history::StoreError;
use crate::report::{html_text, ReportData};

const INDEX: &str = include_str!("../../assets/dashboard/index.html");
const JS: &str = include_str!("../../assets/dashboard/dashboard.js");
const CSS: &str = include_str!("../../assets/dashboard/dashboard.css");

pub enum Asset {
    Js,
    Css,
}

pub fn asset(asset: Asset) -> Response {
    let (body, kind) = match asset {
        Asset::Js => (JS, "text/javascript; charset=utf-8"),
        Asset::Css => (CSS, "text/css; charset=utf-8"),
    };
    ([(header::CONTENT_TYPE, kind)], body).into_response()
}

/// The policy: nothing by default; scripts and styles from this origin or inline with the
/// exact text of the report page's own (by SHA-256); data fetched from this origin only; no
/// framing, no `<base>`, no forms.
pub fn content_security_policy() -> String {
    let page = crate::report::render_html(&empty_report());
    let hashes = |tag: &str| -> String {
        inline_blocks(&page, tag)
            .iter()
            .map(|block| {
                let digest = Sha256::digest(block.as_bytes());
                format!(
                    " 'sha256-{}'",
                    base64::engine::general_purpose::STANDARD.encode(digest)
                )
            })
            .collect()
    };
    format!(
        "default-src 'none'; script-src 'self'{}; style-src 'self'{}; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        hashes("script"),
        hashes("style")
    )
}

fn empty_report() -> ReportData {
    ReportData {
        title: String::new(),
        generated_at: DateTime::<Utc>::UNIX_EPOCH,
        zone: crate::report::Zone::utc(),
        targets: Vec::new(),
    }
}

/// The contents of every `<tag>` element written without attributes (the inline scripts and
/// styles; `<script type="application/json">` holds data, which is never run).
pub fn inline_blocks<'a>(page: &'a str, tag: &str) -> Vec<&'a str> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut blocks = Vec::new();
    let mut rest = page;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start + open.len()..];
        let Some(end) = after.find(&close) else { break };
        blocks.push(&after[..end]);
        rest = &after[end + close.len()..];
    }
    blocks
}

fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

pub fn json(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// A page with a heading and one paragraph (errors, 404, login); refreshes itself after 30 s
/// when it says the history is unreachable.
pub fn message(status: StatusCode, heading: &str, text: &str) -> Response {
    let refresh = if status == StatusCode::SERVICE_UNAVAILABLE {
        "<meta http-equiv=\"refresh\" content=\"30\">\n"
    } else {
        ""
    };
    html(
        status,
        format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n{refresh}<title>{h} · autoscale</title>\n<link rel=\"stylesheet\" href=\"/assets/dashboard.css\">\n</head>\n<body>\n<h1>{h}</h1>\n<p>{t}</p>\n<p><a href=\"/\">All targets</a></p>\n</body>\n</html>\n",
            h = html_text(heading),
            t = html_text(text),
        ),
    )
}

/// The history cannot be read: 503, what failed (already free of credentials), and a retry.
pub fn unreachable(e: &StoreError) -> Response {
    message(
        StatusCode::SERVICE_UNAVAILABLE,
        "The history cannot be read",
        &format!(
            "{} — the dashboard shows what the daemon recorded, and cannot reach it right now. This page tries again in 30 seconds.",
            e.message
        ),
    )
}

/// The index's JSON: `{"generated_at": ms, "targets": [rows]}`, escaped for a `<script>`.
pub fn index_json(now: DateTime<Utc>, rows: &[Row]) -> String {
    let json = serde_json::json!({ "generated_at": now.timestamp_millis(), "targets": rows });
    script_safe(&json.to_string())
}

/// JSON that can sit in a `<script>` element: `<`, `>`, `&` and the two JavaScript line
/// separators as `\u` escapes (JSON only has them inside strings).
fn script_safe(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", u32::from(c)));
            }
            _ => out.push(c),
        }
    }
    out
}

pub fn index(json: &str) -> Response {
    html(StatusCode::OK, INDEX.replacen("{{data.json}}", json, 1))
}

/// A path segment as a URL writes it.
fn segment(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// The target's report page, with links back and to the other ranges, and its live data URL.
pub fn target(app: &str, process: &str, since: &str, page: &super::Page) -> Response {
    let base = format!("/t/{}/{}", segment(app), segment(process));
    let ranges: String = RANGES
        .iter()
        .map(|r| {
            if *r == since {
                format!(" <strong>{r}</strong>")
            } else {
                format!(" <a href=\"{base}?since={r}\">{r}</a>")
            }
        })
        .collect();
    let nav = format!(
        "<nav class=\"dashboard-nav\"><a href=\"/\">← all targets</a> · range:{ranges} · <span id=\"live-state\" class=\"muted\">updated each minute</span></nav>\n"
    );
    let extras = crate::report::Extras {
        live: Some(format!("{base}/data.json?since={}", segment(since))),
        nav,
    };
    html(
        StatusCode::OK,
        crate::report::render_json_page(&page.title, &page.json, &extras),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_names_each_inline_script_and_style_of_the_report_by_hash() {
        let csp = content_security_policy();
        assert!(
            csp.starts_with("default-src 'none'; script-src 'self' 'sha256-"),
            "{csp}"
        );
        assert_eq!(
            csp.matches("'sha256-").count(),
            4,
            "3 scripts, 1 style: {csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"));
        assert!(!csp.contains("unsafe"), "{csp}");
        let page = crate::report::render_html(&empty_report());
        // The data element is not among the hashed ones: it has a type and is never run.
        assert!(inline_blocks(&page, "script")
            .iter()
            .all(|b| !b.contains("\"targets\"")));
    }

    #[test]
    fn inline_blocks_are_found_between_bare_tags_only() {
        let page = "<script>a</script><script type=\"x\">b</script><script>c</script><script>d";
        assert_eq!(inline_blocks(page, "script"), vec!["a", "c"]);
    }

    #[test]
    fn index_json_cannot_close_its_script_element() {
        let json = index_json(DateTime::<Utc>::UNIX_EPOCH, &[]);
        assert_eq!(json, "{\"generated_at\":0,\"targets\":[]}");
        assert_eq!(
            script_safe("\"</script>&\u{2028}\""),
            "\"\\u003c/script\\u003e\\u0026\\u2028\""
        );
    }

    #[test]
    fn path_segments_are_percent_encoded() {
        assert_eq!(segment("my app/x?y"), "my%20app%2Fx%3Fy");
        assert_eq!(segment("shop"), "shop");
    }
}
