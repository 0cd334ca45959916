//! From queued rows to SQL: rows grouped by table (a [`HistoryData`], the same shape the readers
//! get back), the traffic upsert made safe, and the SQL text
//! (one text for both back ends: `$N` placeholders, `ON CONFLICT`, nothing dialect-specific).
//!
//! Pure: no I/O. The store binds the values in the order [`TABLES`] lists the columns.

use std::collections::BTreeMap;

use super::pack::{self, PackedMinute, PackedProbe, PackedQueueMinute};
use super::rows::{target_id, ProbeRow, QueueRow, Row, TrafficRow};
use super::HistoryData;

/// One table: its name, the column that holds its time, its columns in bind order (the first
/// two are always `target_id` and the time), and for an upsert the key columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Table {
    pub name: &'static str,
    pub time: &'static str,
    pub columns: &'static [&'static str],
    pub key: Option<&'static [&'static str]>,
}

/// Traffic minutes, packed per target and hour (schema 2; see [`super::pack`]): `n` minutes in
/// `data`.
pub const TRAFFIC: Table = Table {
    name: "autoscale_traffic_hours",
    time: "hour",
    columns: &["target_id", "hour", "n", "data"],
    key: Some(&["target_id", "hour"]),
};
/// A worker's queue minutes, packed per target and hour like the traffic (schema 3).
pub const QUEUE: Table = Table {
    name: "autoscale_queue_hours",
    time: "hour",
    columns: &["target_id", "hour", "n", "data"],
    key: Some(&["target_id", "hour"]),
};
/// Probes, packed per target and hour like the traffic.
pub const PROBES: Table = Table {
    name: "autoscale_probe_hours",
    time: "hour",
    columns: &["target_id", "hour", "n", "data"],
    key: Some(&["target_id", "hour"]),
};
/// Schema 1's row per traffic minute: converted to [`TRAFFIC`] and dropped by the migration.
pub const V1_TRAFFIC: Table = Table {
    name: "autoscale_traffic",
    time: "minute",
    columns: &[
        "target_id",
        "minute",
        "busy",
        "requests",
        "p50_ms",
        "p95_ms",
        "p99_ms",
        "errors",
        "h10",
        "h12",
        "h13",
        "s2xx",
        "s3xx",
        "s4xx",
        "s5xx",
        "dynos",
    ],
    key: Some(&["target_id", "minute"]),
};
/// Schema 1's row per probe: converted to [`PROBES`] and dropped by the migration.
pub const V1_PROBES: Table = Table {
    name: "autoscale_probes",
    time: "at",
    columns: &[
        "target_id",
        "at",
        "latency_ms",
        "status",
        "source",
        "outcome",
    ],
    key: None,
};
pub const SCALES: Table = Table {
    name: "autoscale_scales",
    time: "at",
    columns: &[
        "target_id",
        "at",
        "from_quantity",
        "to_quantity",
        "reason",
        "result",
    ],
    key: None,
};
pub const HOLDS: Table = Table {
    name: "autoscale_holds",
    time: "at",
    columns: &["target_id", "at", "until", "quantity", "ended", "reason"],
    key: None,
};
pub const ALERTS: Table = Table {
    name: "autoscale_alerts",
    time: "at",
    columns: &["target_id", "at", "kind", "message"],
    key: None,
};
/// Every table with rows in time, in the order a batch writes them.
pub const TABLES: [Table; 6] = [TRAFFIC, QUEUE, PROBES, SCALES, HOLDS, ALERTS];

impl Table {
    /// Packed per hour (see [`super::pack`]) rather than a row per event.
    pub fn packed(&self) -> bool {
        self.time == "hour"
    }
}
/// The names behind each target id.
pub const TARGETS_TABLE: &str = "autoscale_targets";

/// Most rows in one INSERT. Both limits on bound values (SQLite 32,766, Postgres 65,535) stay
/// far away, and one statement stays short.
pub const MAX_ROWS_PER_STATEMENT: usize = 500;

impl HistoryData {
    /// Normalized rows (see [`Row::normalized`]) grouped by table for one write. The traffic is
    /// sorted by (target, minute) with one row per key, the last recorded winning: Postgres
    /// refuses an upsert that touches a row twice, and the same order in every shard means two
    /// shards upserting the same minutes lock rows in the same order and cannot deadlock.
    pub fn batch(rows: Vec<Row>) -> HistoryData {
        let mut batch = HistoryData::default();
        let mut traffic: BTreeMap<(i64, i64), TrafficRow> = BTreeMap::new();
        let mut queue: BTreeMap<(i64, i64), QueueRow> = BTreeMap::new();
        for row in rows {
            match row {
                Row::Traffic(r) => {
                    let key = (target_id(&r.app, &r.process), r.minute.timestamp_millis());
                    traffic.insert(key, r);
                }
                Row::Queue(r) => {
                    let key = (target_id(&r.app, &r.process), r.minute.timestamp_millis());
                    queue.insert(key, r);
                }
                Row::Probe(r) => batch.probes.push(r),
                Row::Scale(r) => batch.scales.push(r),
                Row::Hold(r) => batch.holds.push(r),
                Row::Alert(r) => batch.alerts.push(r),
            }
        }
        batch.traffic = traffic.into_values().collect();
        batch.queue = queue.into_values().collect();
        batch
    }

    /// Every target the rows name: id → (app, process).
    pub fn targets(&self) -> BTreeMap<i64, (String, String)> {
        let names = (self.traffic.iter().map(|r| (&r.app, &r.process)))
            .chain(self.queue.iter().map(|r| (&r.app, &r.process)))
            .chain(self.probes.iter().map(|r| (&r.app, &r.process)))
            .chain(self.scales.iter().map(|r| (&r.app, &r.process)))
            .chain(self.holds.iter().map(|r| (&r.app, &r.process)))
            .chain(self.alerts.iter().map(|r| (&r.app, &r.process)));
        let mut targets = BTreeMap::new();
        for (app, process) in names {
            targets
                .entry(target_id(app, process))
                .or_insert_with(|| (app.clone(), process.clone()));
        }
        targets
    }

    /// Drops every row of the targets in `ids` (a target whose id is taken by other names).
    pub fn without_targets(&mut self, ids: &[i64]) -> usize {
        let before = self.len();
        let keep = |app: &str, process: &str| !ids.contains(&target_id(app, process));
        self.traffic.retain(|r| keep(&r.app, &r.process));
        self.queue.retain(|r| keep(&r.app, &r.process));
        self.probes.retain(|r| keep(&r.app, &r.process));
        self.scales.retain(|r| keep(&r.app, &r.process));
        self.holds.retain(|r| keep(&r.app, &r.process));
        self.alerts.retain(|r| keep(&r.app, &r.process));
        before - self.len()
    }
}

/// Traffic rows grouped per (target, hour) for the packed table, each hour's minutes sorted,
/// once each (the last given wins).
pub fn traffic_hours(rows: &[TrafficRow]) -> BTreeMap<(i64, i64), Vec<PackedMinute>> {
    let mut hours: BTreeMap<(i64, i64), BTreeMap<u8, PackedMinute>> = BTreeMap::new();
    for row in rows {
        let (hour, minute) = pack::pack_minute(row);
        let id = target_id(&row.app, &row.process);
        hours
            .entry((id, hour))
            .or_default()
            .insert(minute.minute, minute);
    }
    hours
        .into_iter()
        .map(|(key, minutes)| (key, minutes.into_values().collect()))
        .collect()
}

/// Queue rows grouped per (target, hour) for the packed table, each hour's minutes sorted, once
/// each (the last given wins).
pub fn queue_hours(rows: &[QueueRow]) -> BTreeMap<(i64, i64), Vec<PackedQueueMinute>> {
    let mut hours: BTreeMap<(i64, i64), BTreeMap<u8, PackedQueueMinute>> = BTreeMap::new();
    for row in rows {
        let (hour, minute) = pack::pack_queue_minute(row);
        let id = target_id(&row.app, &row.process);
        hours
            .entry((id, hour))
            .or_default()
            .insert(minute.minute, minute);
    }
    hours
        .into_iter()
        .map(|(key, minutes)| (key, minutes.into_values().collect()))
        .collect()
}

/// Probe rows grouped per (target, hour) for the packed table, in the order given.
pub fn probe_hours(rows: &[ProbeRow]) -> BTreeMap<(i64, i64), Vec<PackedProbe>> {
    let mut hours: BTreeMap<(i64, i64), Vec<PackedProbe>> = BTreeMap::new();
    for row in rows {
        let (hour, probe) = pack::pack_probe(row);
        let id = target_id(&row.app, &row.process);
        hours.entry((id, hour)).or_default().push(probe);
    }
    hours
}

/// `INSERT INTO table (columns) VALUES ($1, ...), ...` for `rows` rows; for a table with a key,
/// an upsert that replaces every other column.
pub fn insert_sql(table: &Table, rows: usize) -> String {
    let width = table.columns.len();
    let mut sql = format!(
        "INSERT INTO {} ({}) VALUES ",
        table.name,
        table.columns.join(", ")
    );
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for column in 0..width {
            if column > 0 {
                sql.push_str(", ");
            }
            sql.push('$');
            sql.push_str(&(row * width + column + 1).to_string());
        }
        sql.push(')');
    }
    if let Some(key) = table.key {
        let updates: Vec<String> = table
            .columns
            .iter()
            .filter(|c| !key.contains(c))
            .map(|c| format!("{c} = excluded.{c}"))
            .collect();
        sql.push_str(&format!(
            " ON CONFLICT ({}) DO UPDATE SET {}",
            key.join(", "),
            updates.join(", ")
        ));
    }
    sql
}

/// Registers targets; a target already there (from this or another shard) is left alone.
pub fn insert_targets_sql(rows: usize) -> String {
    let values: Vec<String> = (0..rows)
        .map(|i| format!("(${}, ${}, ${})", 3 * i + 1, 3 * i + 2, 3 * i + 3))
        .collect();
    format!(
        "INSERT INTO {TARGETS_TABLE} (id, app, process) VALUES {} ON CONFLICT (id) DO NOTHING",
        values.join(", ")
    )
}

/// The names stored behind `count` target ids (`$1` ... `$count`).
pub fn select_targets_sql(count: usize) -> String {
    format!(
        "SELECT id, app, process FROM {TARGETS_TABLE} WHERE id IN ({})",
        placeholders(1, count)
    )
}

/// `$first, $first+1, ...`, `count` of them.
pub fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A packed table's rows for some (target, hour) keys (`$1, $2`, `$3, $4`, ...).
pub fn select_hours_sql(table: &Table, keys: usize) -> String {
    let values: Vec<String> = (0..keys)
        .map(|i| format!("(${}, ${})", 2 * i + 1, 2 * i + 2))
        .collect();
    format!(
        "SELECT target_id, hour, data FROM {} WHERE (target_id, hour) IN (VALUES {})",
        table.name,
        values.join(", ")
    )
}

/// Inserts packed rows that are not there yet (the others are left alone); returns the keys
/// it inserted.
pub fn insert_new_sql(table: &Table, rows: usize) -> String {
    let upsert = insert_sql(table, rows);
    let values = upsert.split(" ON CONFLICT").next().unwrap_or(&upsert);
    format!("{values} ON CONFLICT (target_id, hour) DO NOTHING RETURNING target_id, hour")
}

/// Rows of `table` for some targets (`$1`..`$targets`) in `[since, until)` (the next two
/// placeholders), time-ordered, at most `limit`.
pub fn select_sql(table: &Table, targets: usize, limit: usize) -> String {
    format!(
        "SELECT {} FROM {} WHERE target_id IN ({}) AND {time} >= ${} AND {time} < ${} \
         ORDER BY {time}, target_id LIMIT {limit}",
        table.columns.join(", "),
        table.name,
        placeholders(1, targets),
        targets + 1,
        targets + 2,
        time = table.time,
    )
}

/// Retention in batches, one target at a time (the `(target_id, time)` index serves it): the
/// time of the target's `batch`-th oldest row before the cutoff (`$1` target, `$2` cutoff).
/// When there is one, delete up to it and come back; when there is none, fewer rows than a
/// batch are left: delete them all.
pub fn prune_bound_sql(table: &Table, batch: usize) -> String {
    format!(
        "SELECT {time} FROM {} WHERE target_id = $1 AND {time} < $2 ORDER BY {time} LIMIT 1 OFFSET {}",
        table.name,
        batch.saturating_sub(1),
        time = table.time,
    )
}

/// Deletes a target's rows before `$2` (`inclusive`: up to and including `$2`).
pub fn prune_sql(table: &Table, inclusive: bool) -> String {
    format!(
        "DELETE FROM {} WHERE target_id = $1 AND {} {} $2",
        table.name,
        table.time,
        if inclusive { "<=" } else { "<" }
    )
}

/// A statement built here, as SQLite wants it: each `$N` becomes a plain `?`. SQLite treats
/// `$N` and `?N` as named parameters, and binding looks each name up in a list, so a 500-row
/// INSERT (8,000 parameters) takes seconds; plain `?` is bound by position. Valid because every
/// builder here numbers its placeholders once each, in order (the tests check it).
pub fn for_sqlite(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('?');
            while chars.next_if(char::is_ascii_digit).is_some() {}
        } else {
            out.push(c);
        }
    }
    out
}

/// The `$N` placeholders of `sql`, in order of appearance.
#[cfg(test)]
fn placeholder_numbers(sql: &str) -> Vec<usize> {
    sql.split('$')
        .skip(1)
        .map(|rest| {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().unwrap()
        })
        .collect()
}

/// Instants older than this (epoch milliseconds) are past retention.
pub fn retention_cutoff(now_ms: i64, days: u32) -> i64 {
    now_ms.saturating_sub(i64::from(days) * 86_400_000)
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::*;
    use crate::history::rows::{AlertRow, HoldRow, Outcome, ProbeRow, ProbeSource, ScaleRow};

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn traffic(app: &str, minute: &str, requests: u32) -> Row {
        Row::Traffic(TrafficRow {
            app: app.into(),
            process: "web".into(),
            minute: at(minute),
            requests,
            p50_ms: 1,
            p95_ms: 2,
            p99_ms: 3,
            errors: 0,
            h10: 0,
            h12: 0,
            h13: 0,
            s2xx: requests,
            s3xx: 0,
            s4xx: 0,
            s5xx: 0,
            busy: 0.5,
            dynos: 1,
        })
    }

    fn probe(app: &str, when: &str) -> Row {
        Row::Probe(ProbeRow {
            app: app.into(),
            process: "web".into(),
            at: at(when),
            source: ProbeSource::Probe,
            outcome: Outcome::Ok,
            status: Some(200),
            latency_ms: Some(90),
        })
    }

    #[test]
    fn traffic_is_sorted_by_key_and_the_last_of_a_minute_wins() {
        let rows = vec![
            traffic("b", "2026-11-30T10:01:00Z", 1),
            traffic("a", "2026-11-30T10:02:00Z", 2),
            traffic("a", "2026-11-30T10:01:00Z", 3),
            traffic("b", "2026-11-30T10:01:00Z", 4),
            probe("a", "2026-11-30T10:00:30Z"),
            probe("a", "2026-11-30T10:00:30Z"),
        ];
        let batch = HistoryData::batch(rows);
        let keys: Vec<(i64, i64, u32)> = batch
            .traffic
            .iter()
            .map(|r| {
                let id = target_id(&r.app, &r.process);
                (id, r.minute.timestamp_millis(), r.requests)
            })
            .collect();
        let (a, b) = (target_id("a", "web"), target_id("b", "web"));
        let mut expected = vec![
            (a, at("2026-11-30T10:01:00Z").timestamp_millis(), 3),
            (a, at("2026-11-30T10:02:00Z").timestamp_millis(), 2),
            (b, at("2026-11-30T10:01:00Z").timestamp_millis(), 4),
        ];
        expected.sort();
        assert_eq!(keys, expected);
        // Events are not de-duplicated: two probes at one instant are two probes.
        assert_eq!(batch.probes.len(), 2);
        assert_eq!(batch.len(), 5);
        assert!(!batch.is_empty());
        assert_eq!(
            batch.targets().get(&a),
            Some(&("a".to_string(), "web".to_string()))
        );
        assert_eq!(batch.targets().len(), 2);
    }

    #[test]
    fn every_kind_lands_in_its_own_list() {
        let base = at("2026-11-30T10:00:00Z");
        let rows = vec![
            Row::Scale(ScaleRow {
                app: "a".into(),
                process: "web".into(),
                at: base,
                from: 1,
                to: 2,
                reason: "load".into(),
                result: "ok".into(),
            }),
            Row::Hold(HoldRow {
                app: "a".into(),
                process: "web".into(),
                at: base,
                reason: crate::history::rows::HoldReason::Manual,
                quantity: 3,
                until: None,
                ended: false,
            }),
            Row::Alert(AlertRow {
                app: "a".into(),
                process: "worker".into(),
                at: base,
                kind: "scale_out".into(),
                message: "m".into(),
            }),
        ];
        let mut batch = HistoryData::batch(rows);
        assert_eq!(
            (
                batch.traffic.len(),
                batch.probes.len(),
                batch.scales.len(),
                batch.holds.len(),
                batch.alerts.len()
            ),
            (0, 0, 1, 1, 1)
        );
        assert_eq!(batch.len(), 3);
        let worker = target_id("a", "worker");
        assert_eq!(batch.without_targets(&[worker]), 1);
        assert_eq!(batch.alerts.len(), 0);
        assert_eq!(
            batch.targets().keys().copied().collect::<Vec<_>>(),
            [target_id("a", "web")]
        );
        assert_eq!(batch.without_targets(&[target_id("a", "web")]), 2);
        assert!(batch.is_empty());
        assert!(HistoryData::batch(Vec::new()).is_empty());
    }

    #[test]
    fn without_targets_drops_every_kind_of_those_targets_only() {
        let mut batch = HistoryData::batch(vec![
            traffic("a", "2026-11-30T10:01:00Z", 1),
            probe("a", "2026-11-30T10:01:00Z"),
            traffic("b", "2026-11-30T10:01:00Z", 1),
            probe("b", "2026-11-30T10:01:00Z"),
        ]);
        assert_eq!(batch.without_targets(&[target_id("a", "web")]), 2);
        let b = target_id("b", "web");
        let ids = |names: Vec<(&String, &String)>| -> Vec<i64> {
            names.into_iter().map(|(a, p)| target_id(a, p)).collect()
        };
        assert_eq!(
            ids(batch.traffic.iter().map(|r| (&r.app, &r.process)).collect()),
            [b]
        );
        assert_eq!(
            ids(batch.probes.iter().map(|r| (&r.app, &r.process)).collect()),
            [b]
        );
        assert_eq!(batch.targets().keys().copied().collect::<Vec<_>>(), [b]);
    }

    #[test]
    fn insert_sql_numbers_placeholders_row_by_row() {
        assert_eq!(
            insert_sql(&ALERTS, 2),
            "INSERT INTO autoscale_alerts (target_id, at, kind, message) VALUES ($1, $2, $3, $4), ($5, $6, $7, $8)"
        );
        let upsert = insert_sql(&V1_TRAFFIC, 1);
        assert!(upsert.ends_with(
            " ON CONFLICT (target_id, minute) DO UPDATE SET busy = excluded.busy, requests = excluded.requests, \
             p50_ms = excluded.p50_ms, p95_ms = excluded.p95_ms, p99_ms = excluded.p99_ms, errors = excluded.errors, \
             h10 = excluded.h10, h12 = excluded.h12, h13 = excluded.h13, s2xx = excluded.s2xx, s3xx = excluded.s3xx, \
             s4xx = excluded.s4xx, s5xx = excluded.s5xx, dynos = excluded.dynos"
        ), "{upsert}");
        assert!(upsert.contains(
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) ON"
        ));
        for table in TABLES {
            assert_eq!(table.columns[..2], ["target_id", table.time]);
            assert!(MAX_ROWS_PER_STATEMENT * table.columns.len() <= 32_766);
        }
    }

    #[test]
    fn packed_tables_upsert_per_hour_and_select_by_key() {
        assert!(TRAFFIC.packed() && PROBES.packed());
        assert!(!V1_TRAFFIC.packed() && !SCALES.packed() && !V1_PROBES.packed());
        assert_eq!(
            insert_sql(&TRAFFIC, 2),
            "INSERT INTO autoscale_traffic_hours (target_id, hour, n, data) VALUES ($1, $2, $3, $4), \
             ($5, $6, $7, $8) ON CONFLICT (target_id, hour) DO UPDATE SET n = excluded.n, data = excluded.data"
        );
        assert_eq!(
            insert_new_sql(&PROBES, 1),
            "INSERT INTO autoscale_probe_hours (target_id, hour, n, data) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (target_id, hour) DO NOTHING RETURNING target_id, hour"
        );
        assert_eq!(
            select_hours_sql(&TRAFFIC, 2),
            "SELECT target_id, hour, data FROM autoscale_traffic_hours WHERE (target_id, hour) IN (VALUES ($1, $2), ($3, $4))"
        );
    }

    #[test]
    fn target_and_select_sql() {
        assert_eq!(
            insert_targets_sql(2),
            "INSERT INTO autoscale_targets (id, app, process) VALUES ($1, $2, $3), ($4, $5, $6) ON CONFLICT (id) DO NOTHING"
        );
        assert_eq!(
            select_targets_sql(3),
            "SELECT id, app, process FROM autoscale_targets WHERE id IN ($1, $2, $3)"
        );
        assert_eq!(placeholders(4, 2), "$4, $5");
        assert_eq!(placeholders(1, 0), "");
        assert_eq!(
            select_sql(&ALERTS, 2, 1000),
            "SELECT target_id, at, kind, message FROM autoscale_alerts WHERE target_id IN ($1, $2) \
             AND at >= $3 AND at < $4 ORDER BY at, target_id LIMIT 1000"
        );
    }

    #[test]
    fn sqlite_gets_positional_placeholders_which_every_builder_allows() {
        assert_eq!(
            for_sqlite(&insert_sql(&ALERTS, 2)),
            "INSERT INTO autoscale_alerts (target_id, at, kind, message) VALUES (?, ?, ?, ?), (?, ?, ?, ?)"
        );
        assert_eq!(
            for_sqlite("a = $12 AND b < $3, $x $"),
            "a = ? AND b < ?, $x $"
        );
        // Positional binding is right only when the placeholders run 1, 2, 3, ... once each.
        let built = [
            insert_sql(&TRAFFIC, 3),
            insert_sql(&V1_TRAFFIC, 3),
            insert_sql(&V1_PROBES, 2),
            insert_new_sql(&PROBES, 2),
            select_hours_sql(&TRAFFIC, 3),
            insert_targets_sql(4),
            select_targets_sql(5),
            select_sql(&HOLDS, 3, 10),
        ];
        for sql in built {
            let numbers = placeholder_numbers(&sql);
            let expected: Vec<usize> = (1..=numbers.len()).collect();
            assert_eq!(numbers, expected, "{sql}");
            assert_eq!(for_sqlite(&sql).matches('?').count(), numbers.len());
        }
    }

    #[test]
    fn prune_sql_and_cutoff() {
        assert_eq!(
            prune_bound_sql(&V1_TRAFFIC, 5000),
            "SELECT minute FROM autoscale_traffic WHERE target_id = $1 AND minute < $2 ORDER BY minute LIMIT 1 OFFSET 4999"
        );
        assert_eq!(
            prune_sql(&V1_PROBES, true),
            "DELETE FROM autoscale_probes WHERE target_id = $1 AND at <= $2"
        );
        assert_eq!(
            prune_sql(&V1_PROBES, false),
            "DELETE FROM autoscale_probes WHERE target_id = $1 AND at < $2"
        );
        assert_eq!(retention_cutoff(1_000_000_000_000, 35), 996_976_000_000);
        assert_eq!(retention_cutoff(i64::MIN + 5, 1), i64::MIN);
    }
}
