//! The README's screenshot of the HTML report, and a way to look at the page by hand.
//!
//! ```text
//! cargo run --example report_screenshot -- [--html REPORT.html] [--png docs/report.png]
//! ```
//!
//! Without `--html` it writes the report of the synthetic week the browser test uses
//! (`tests/report_support/week.rs`, with plain text) to `target/report-week.html`; with `--html` it takes a report
//! made from real data (`autoscale chart --output REPORT.html`). Then headless Chromium
//! (`$CHROMIUM`, else `/usr/bin/chromium`) takes a 1400 × 2400 screenshot of it, which `pngquant`
//! shrinks when it is installed.

#[path = "../tests/report_support/mod.rs"]
mod report_support;

use std::path::PathBuf;
use std::time::Duration;

use report_support::{chromium, week};

fn main() {
    if let Err(e) = run() {
        eprintln!("report_screenshot: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let mut html = None;
    let mut png = PathBuf::from("docs/report.png");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next().ok_or_else(|| format!("{arg} needs a value"))?;
        match arg.as_str() {
            "--html" => html = Some(PathBuf::from(value)),
            "--png" => png = PathBuf::from(value),
            _ => {
                return Err(format!(
                    "unknown argument {arg:?}; use --html FILE and --png FILE"
                ))
            }
        }
    }
    let html = match html {
        Some(path) => path,
        None => {
            let path = PathBuf::from("target/report-week.html");
            let page = autoscale::report::render_html(&week::plain_report());
            std::fs::write(&path, &page)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            println!("wrote {} ({} bytes)", path.display(), page.len());
            path
        }
    };
    let html = std::fs::canonicalize(&html).map_err(|e| format!("{}: {e}", html.display()))?;
    let png = std::path::absolute(&png).map_err(|e| format!("{}: {e}", png.display()))?;
    let profile = chromium::temp_dir("screenshot");
    let result = chromium::run(
        &[
            "--window-size=1400,2400",
            "--virtual-time-budget=10000",
            &format!("--screenshot={}", png.display()),
            &format!("file://{}", html.display()),
        ],
        &profile,
        Duration::from_secs(120),
    );
    let _ = std::fs::remove_dir_all(&profile);
    result?;
    shrink(&png);
    let bytes = std::fs::metadata(&png)
        .map_err(|e| format!("{}: {e}", png.display()))?
        .len();
    println!("wrote {} ({bytes} bytes)", png.display());
    Ok(())
}

/// Chromium writes large PNGs (the health checks' dots weigh most): `pngquant` (Debian package
/// `pngquant`), when installed, cuts the README's image to about a third with no visible change.
fn shrink(png: &std::path::Path) {
    let quantized = std::process::Command::new("pngquant")
        .args([
            "--force",
            "--skip-if-larger",
            "--strip",
            "--quality=70-95",
            "--output",
        ])
        .arg(png)
        .arg(png)
        .status();
    match quantized {
        Ok(status) if status.success() => {}
        Ok(status) => eprintln!("pngquant left the image as it was ({status})"),
        Err(_) => eprintln!("pngquant is not installed: the image is Chromium's own PNG"),
    }
}
