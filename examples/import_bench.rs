//! What a week of history takes, measured the way a user would: `autoscale history import` of
//! the insight benchmark's week of router lines (a 50-requests-a-second app, as `heroku logs`
//! prints it, gzip) into a SQLite file and, when `AUTOSCALE_TEST_POSTGRES_URL` is set (`source
//! .ci/postgres`), into a fresh Postgres database; then the same import again (idempotent: it
//! changes nothing) and its time.
//!
//! ```text
//! cargo build --release --locked && cargo run --release --locked --example import_bench -- [DAYS] [PER_SECOND]
//! ```

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use autoscale::traffic::fixture::Fixture;
use chrono::{DateTime, Utc};
use sqlx::{Connection, Executor};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let days: u32 = args.next().map_or(Ok(7), |a| a.parse())?;
    let per_second: f64 = args.next().map_or(Ok(50.0), |a| a.parse())?;
    let exe = std::env::current_exe()?;
    let binary = exe
        .parent()
        .and_then(Path::parent)
        .map(|dir| dir.join("autoscale"))
        .filter(|b| b.is_file())
        .ok_or("build the binary first: cargo build --release --locked")?;
    let start = DateTime::parse_from_rfc3339("2026-03-22T23:00:00Z")?.with_timezone(&Utc);
    let fixture = Fixture {
        rate: |_, _| 1.0,
        scale: per_second * 60.0,
        ..Fixture::new(start, days, chrono_tz::Europe::Berlin)
    };
    let dir = std::env::temp_dir().join(format!("import-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = run(&binary, &fixture, &dir);
    std::fs::remove_dir_all(&dir)?;
    result
}

/// The store's size in bytes: the SQLite file, or every autoscale table with its indexes after
/// `VACUUM ANALYZE` (autovacuum's steady state).
fn store_bytes(pg: Option<&str>, file: &Path) -> Result<u64, Box<dyn std::error::Error>> {
    let Some(url) = pg else {
        return Ok(std::fs::metadata(file)?.len());
    };
    let rt = tokio::runtime::Runtime::new()?;
    let total: i64 = rt.block_on(async {
        let mut conn = sqlx::PgConnection::connect(url).await?;
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT relname::TEXT FROM pg_class WHERE relkind = 'r' AND relname LIKE 'autoscale%'",
        )
        .fetch_all(&mut conn)
        .await?;
        conn.execute(format!("VACUUM ANALYZE {}", tables.join(", ")).as_str())
            .await?;
        let (total, main): (i64, i64) = sqlx::query_as(
            "SELECT sum(pg_total_relation_size(oid))::BIGINT, \
             sum(pg_relation_size(oid) + coalesce(pg_relation_size(NULLIF(reltoastrelid, 0)), 0) + \
                 (SELECT coalesce(sum(pg_relation_size(indexrelid)), 0) FROM pg_index WHERE indrelid = c.oid))::BIGINT \
             FROM pg_class c WHERE relkind = 'r' AND relname LIKE 'autoscale%'",
        )
        .fetch_one(&mut conn)
        .await?;
        println!(
            "  postgres: {:.1} KB in all, {:.1} KB of it tables' and indexes' pages (without the free-space and visibility maps, one set per table)",
            total as f64 / 1024.0,
            main as f64 / 1024.0
        );
        Ok::<_, sqlx::Error>(total)
    })?;
    Ok(total as u64)
}

fn run(binary: &Path, fixture: &Fixture, dir: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let gz = dir.join("router.log.gz");
    let mut encoder = flate2::write::GzEncoder::new(
        BufWriter::with_capacity(1 << 20, File::create(&gz)?),
        flate2::Compression::fast(),
    );
    let written = fixture.write_heroku_logs(&mut encoder)?;
    encoder.finish()?.flush()?;
    println!(
        "input: {} days, {} router lines + {} app lines, {:.0} MiB gzip",
        fixture.days,
        written.router,
        written.other,
        std::fs::metadata(&gz)?.len() as f64 / 1048576.0
    );
    let file = dir.join("history.sqlite");
    let sqlite = format!("sqlite://{}", file.display());
    let mut stores = vec![(sqlite, None)];
    let admin = std::env::var("AUTOSCALE_TEST_POSTGRES_URL").ok();
    let name = format!("autoscale_import_{}", std::process::id());
    if let Some(admin) = &admin {
        let rt = tokio::runtime::Runtime::new()?;
        rt.block_on(async {
            let mut conn = sqlx::PgConnection::connect(admin).await?;
            conn.execute(format!("CREATE DATABASE {name}").as_str())
                .await?;
            Ok::<_, sqlx::Error>(())
        })?;
        let mut url = url::Url::parse(admin)?;
        url.set_path(&format!("/{name}"));
        stores.push((url.to_string(), Some(url.to_string())));
    }
    for (store, pg) in &stores {
        // An empty history first: what every store costs before its first target.
        let out = Command::new(binary)
            .args(["history", "import", "--history", store, "/dev/null"])
            .env_clear()
            .output()?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned().into());
        }
        let empty = store_bytes(pg.as_deref(), &file)?;
        println!(
            "{}: an empty history takes {:.1} KB",
            if pg.is_some() { "postgres" } else { "sqlite" },
            empty as f64 / 1024.0
        );
        for round in ["first", "again"] {
            let began = Instant::now();
            let out = Command::new(binary)
                .args(["history", "import", "--history", store])
                .arg(&gz)
                .env_clear()
                .output()?;
            let secs = began.elapsed().as_secs_f64();
            if !out.status.success() {
                return Err(String::from_utf8_lossy(&out.stderr).into_owned().into());
            }
            let summary = String::from_utf8_lossy(&out.stdout);
            let kind = if pg.is_some() { "postgres" } else { "sqlite" };
            println!(
                "{kind} {round}: {secs:.1} s ({:.2} million lines/s): {}",
                written.router as f64 / secs / 1e6,
                summary.trim().replace(store.as_str(), "STORE")
            );
        }
        let weeks = fixture.days as f64 / 7.0;
        let bytes = store_bytes(pg.as_deref(), &file)?;
        println!(
            "{}: {:.1} KB per target-week ({:.1} KB in all, {:.1} KB of it the empty history's){}",
            if pg.is_some() { "postgres" } else { "sqlite" },
            bytes.saturating_sub(empty) as f64 / 1024.0 / weeks,
            bytes as f64 / 1024.0,
            empty as f64 / 1024.0,
            if pg.is_some() {
                "; tables and indexes, pg_total_relation_size after VACUUM ANALYZE"
            } else {
                "; the file after the import's VACUUM"
            }
        );
    }
    if let Some(admin) = &admin {
        let rt = tokio::runtime::Runtime::new()?;
        rt.block_on(async {
            let mut conn = sqlx::PgConnection::connect(admin).await?;
            conn.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                .await?;
            Ok::<_, sqlx::Error>(())
        })?;
    }
    Ok(())
}
