//! Shared by the Postgres queue tests: the test cluster (`AUTOSCALE_TEST_POSTGRES_URL`, skipped
//! loudly without it unless `AUTOSCALE_REQUIRE_POSTGRES=1`), a database per test, the
//! libraries' schemas as their migrations create them, and their rows as they write them.

#![allow(dead_code)]

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use sqlx::{Connection, Executor, PgConnection, Row};

pub const PG_VAR: &str = "AUTOSCALE_TEST_POSTGRES_URL";

/// 2026-12-07 10:00:00.250 UTC: the instant every read is made at.
pub fn now() -> DateTime<Utc> {
    Utc.timestamp_millis_opt(1_796_637_600_250).unwrap()
}

/// `ms` milliseconds before [`now`] (after, when negative), as Active Record writes a
/// `datetime` (UTC, microseconds).
pub fn ts(ms: i64) -> String {
    (now() - TimeDelta::milliseconds(ms))
        .format("%Y-%m-%d %H:%M:%S%.6f")
        .to_string()
}

pub fn admin_url() -> Option<String> {
    match std::env::var(PG_VAR) {
        Ok(url) if !url.trim().is_empty() => Some(url.trim().to_owned()),
        _ if std::env::var("AUTOSCALE_REQUIRE_POSTGRES").as_deref() == Ok("1") => {
            panic!("AUTOSCALE_REQUIRE_POSTGRES=1 but {PG_VAR} is unset: run `source .ci/postgres`")
        }
        _ => {
            // Straight to stderr: libtest captures `eprintln!` of passing tests, and a skip
            // must be seen.
            static ONCE: std::sync::Once = std::sync::Once::new();
            ONCE.call_once(|| {
                use std::io::Write as _;
                let _ = writeln!(
                    std::io::stderr(),
                    "\n*** queue_postgres: the Postgres tests are SKIPPED: set {PG_VAR} (source .ci/postgres) ***\n"
                );
            });
            None
        }
    }
}

pub async fn connect(url: &str) -> PgConnection {
    PgConnection::connect(url).await.unwrap()
}

fn url_of(name: &str) -> String {
    let mut url = url::Url::parse(&admin_url().unwrap()).unwrap();
    url.set_path(&format!("/queue_{name}"));
    url.to_string()
}

/// A fresh database `queue_NAME` (dropped first if a run left it), its URL and a connection.
pub async fn database(name: &str) -> Option<(String, PgConnection)> {
    let admin = admin_url()?;
    let mut c = connect(&admin).await;
    c.execute(format!("DROP DATABASE IF EXISTS queue_{name} WITH (FORCE)").as_str())
        .await
        .unwrap();
    c.execute(format!("CREATE DATABASE queue_{name}").as_str())
        .await
        .unwrap();
    let url = url_of(name);
    Some((url.clone(), connect(&url).await))
}

/// Drops the test's database (the readers' sessions with it).
pub async fn drop_database(c: PgConnection, name: &str) {
    c.close().await.ok();
    let mut admin = connect(&admin_url().unwrap()).await;
    admin
        .execute(format!("DROP DATABASE IF EXISTS queue_{name} WITH (FORCE)").as_str())
        .await
        .unwrap();
}

/// The plans of `statements` for `now` and the queues `q1`, `q2` (`PREPARE`, `EXPLAIN
/// EXECUTE`: the plan of those values).
pub async fn plans(c: &mut PgConnection, statements: &[String]) -> String {
    explain(c, statements, "EXPLAIN").await
}

/// The same, run (`EXPLAIN (ANALYZE, BUFFERS)`).
pub async fn analyze(c: &mut PgConnection, statements: &[String]) -> String {
    explain(c, statements, "EXPLAIN (ANALYZE, BUFFERS)").await
}

async fn explain(c: &mut PgConnection, statements: &[String], how: &str) -> String {
    let at = now().timestamp_micros() as f64 / 1e6;
    let mut out = String::new();
    for (i, sql) in statements.iter().enumerate() {
        let name = format!("p{}_{}", i, std::process::id());
        c.execute(format!("PREPARE {name} AS {sql}").as_str())
            .await
            .unwrap();
        let args = if sql.contains("ANY($1)") {
            "('{q1,q2}')".to_owned()
        } else if sql.contains("$2") {
            format!("({at}, '{{q1,q2}}')")
        } else if sql.contains("$1") {
            format!("({at})")
        } else {
            String::new()
        };
        let rows = c
            .fetch_all(format!("{how} EXECUTE {name}{args}").as_str())
            .await
            .unwrap();
        out.push_str(&format!("-- {sql}\n"));
        for row in rows {
            out.push_str(&row.get::<String, _>(0));
            out.push('\n');
        }
        c.execute(format!("DEALLOCATE {name}").as_str())
            .await
            .unwrap();
    }
    out
}

/// An Active Job's `serialize`, as both libraries store it.
pub fn active_job_params(class: &str, queue: &str) -> String {
    format!(
        r#"{{"job_class":"{class}","job_id":"0b6c5f8e-3f1a-4a55-9d7e-2c1b0a9f8e7d","provider_job_id":null,"queue_name":"{queue}","priority":null,"arguments":[1,"bob"],"executions":0,"exception_executions":{{}},"locale":"en","timezone":"UTC","enqueued_at":"2026-12-07T09:59:17.750000000Z","scheduled_at":null}}"#
    )
}

// ---------------------------------------------------------------------------------------------
// GoodJob

/// GoodJob v4's tables (`lib/generators/good_job/templates/install/migrations/create_good_jobs.rb.erb`
/// on main, as Rails 7.1 writes it for Postgres: `t.datetime` is `timestamp(6)`).
pub const GOOD_JOB_4_TABLES: &str = r#"
CREATE TABLE good_jobs (
    id uuid DEFAULT gen_random_uuid() NOT NULL PRIMARY KEY,
    queue_name text,
    priority integer,
    serialized_params jsonb,
    scheduled_at timestamp(6) without time zone,
    performed_at timestamp(6) without time zone,
    finished_at timestamp(6) without time zone,
    error text,
    created_at timestamp(6) without time zone NOT NULL,
    updated_at timestamp(6) without time zone NOT NULL,
    active_job_id uuid,
    concurrency_key text,
    cron_key text,
    retried_good_job_id uuid,
    cron_at timestamp(6) without time zone,
    batch_id uuid,
    batch_callback_id uuid,
    is_discrete boolean,
    executions_count integer,
    job_class text,
    error_event smallint,
    labels text[],
    locked_by_id uuid,
    locked_at timestamp(6) without time zone,
    lock_type smallint
);
CREATE TABLE good_job_batches (
    id uuid DEFAULT gen_random_uuid() NOT NULL PRIMARY KEY,
    created_at timestamp(6) without time zone NOT NULL,
    updated_at timestamp(6) without time zone NOT NULL,
    description text,
    serialized_properties jsonb,
    on_finish text,
    on_success text,
    on_discard text,
    callback_queue_name text,
    callback_priority integer,
    enqueued_at timestamp(6) without time zone,
    discarded_at timestamp(6) without time zone,
    finished_at timestamp(6) without time zone,
    jobs_finished_at timestamp(6) without time zone
);
CREATE TABLE good_job_executions (
    id uuid DEFAULT gen_random_uuid() NOT NULL PRIMARY KEY,
    created_at timestamp(6) without time zone NOT NULL,
    updated_at timestamp(6) without time zone NOT NULL,
    active_job_id uuid NOT NULL,
    job_class text,
    queue_name text,
    serialized_params jsonb,
    scheduled_at timestamp(6) without time zone,
    finished_at timestamp(6) without time zone,
    error text,
    error_event smallint,
    error_backtrace text[],
    process_id uuid,
    duration interval
);
CREATE TABLE good_job_processes (
    id uuid DEFAULT gen_random_uuid() NOT NULL PRIMARY KEY,
    created_at timestamp(6) without time zone NOT NULL,
    updated_at timestamp(6) without time zone NOT NULL,
    state jsonb,
    lock_type smallint
);
CREATE TABLE good_job_settings (
    id uuid DEFAULT gen_random_uuid() NOT NULL PRIMARY KEY,
    created_at timestamp(6) without time zone NOT NULL,
    updated_at timestamp(6) without time zone NOT NULL,
    key text,
    value jsonb
);
CREATE UNIQUE INDEX index_good_job_settings_on_key ON good_job_settings USING btree (key);
"#;

/// GoodJob v4's indexes (the same migration), apart so that a million rows go in first.
pub const GOOD_JOB_4_INDEXES: &str = r#"
CREATE INDEX index_good_jobs_on_scheduled_at ON good_jobs USING btree (scheduled_at) WHERE (finished_at IS NULL);
CREATE INDEX index_good_jobs_on_queue_name_and_scheduled_at ON good_jobs USING btree (queue_name, scheduled_at) WHERE (finished_at IS NULL);
CREATE INDEX index_good_jobs_on_active_job_id_and_created_at ON good_jobs USING btree (active_job_id, created_at);
CREATE INDEX index_good_jobs_on_concurrency_key_when_unfinished ON good_jobs USING btree (concurrency_key) WHERE (finished_at IS NULL);
CREATE INDEX index_good_jobs_on_concurrency_key_and_created_at ON good_jobs USING btree (concurrency_key, created_at);
CREATE INDEX index_good_jobs_on_cron_key_and_created_at_cond ON good_jobs USING btree (cron_key, created_at) WHERE (cron_key IS NOT NULL);
CREATE UNIQUE INDEX index_good_jobs_on_cron_key_and_cron_at_cond ON good_jobs USING btree (cron_key, cron_at) WHERE (cron_key IS NOT NULL);
CREATE INDEX index_good_jobs_jobs_on_finished_at_only ON good_jobs USING btree (finished_at) WHERE (finished_at IS NOT NULL);
CREATE INDEX index_good_jobs_jobs_on_priority_created_at_when_unfinished ON good_jobs USING btree (priority DESC NULLS LAST, created_at) WHERE (finished_at IS NULL);
CREATE INDEX index_good_job_jobs_for_candidate_lookup ON good_jobs USING btree (priority, created_at) WHERE (finished_at IS NULL);
CREATE INDEX index_good_jobs_on_batch_id ON good_jobs USING btree (batch_id) WHERE (batch_id IS NOT NULL);
CREATE INDEX index_good_jobs_on_batch_callback_id ON good_jobs USING btree (batch_callback_id) WHERE (batch_callback_id IS NOT NULL);
CREATE INDEX index_good_jobs_on_job_class ON good_jobs USING btree (job_class);
CREATE INDEX index_good_jobs_on_labels ON good_jobs USING gin (labels) WHERE (labels IS NOT NULL);
CREATE INDEX index_good_job_executions_on_active_job_id_and_created_at ON good_job_executions USING btree (active_job_id, created_at);
CREATE INDEX index_good_jobs_on_priority_scheduled_at_unfinished_unlocked ON good_jobs USING btree (priority, scheduled_at) WHERE ((finished_at IS NULL) AND (locked_by_id IS NULL));
CREATE INDEX index_good_jobs_on_priority_scheduled_at_unfinished ON good_jobs USING btree (priority, scheduled_at, id) WHERE (finished_at IS NULL);
CREATE INDEX index_good_jobs_on_queue_name_priority_scheduled_at_unfinished ON good_jobs USING btree (queue_name, scheduled_at, id) WHERE (finished_at IS NULL);
CREATE INDEX index_good_jobs_on_locked_by_id ON good_jobs USING btree (locked_by_id) WHERE (locked_by_id IS NOT NULL);
CREATE INDEX index_good_job_executions_on_process_id_and_created_at ON good_job_executions USING btree (process_id, created_at);
CREATE INDEX index_good_jobs_for_candidate_dequeue_unlocked ON good_jobs USING btree (priority, scheduled_at, id) WHERE ((finished_at IS NULL) AND (locked_by_id IS NULL));
CREATE INDEX index_good_jobs_on_queue_name ON good_jobs USING btree (queue_name);
CREATE INDEX index_good_jobs_on_created_at ON good_jobs USING btree (created_at);
CREATE INDEX index_good_jobs_on_discarded ON good_jobs USING btree (finished_at DESC) WHERE ((finished_at IS NOT NULL) AND (error IS NOT NULL));
CREATE INDEX index_good_jobs_on_scheduled_at_and_queue_name ON good_jobs USING btree (scheduled_at, queue_name);
CREATE INDEX index_good_jobs_on_unfinished_or_errored ON good_jobs USING btree (id) WHERE ((finished_at IS NULL) OR (error IS NOT NULL));
"#;

/// GoodJob v3.0.0's install migration (`t.timestamp`, no process lock columns; its
/// `enable_extension 'pgcrypto'` is left out: `gen_random_uuid()` is built in since PG 13).
pub const GOOD_JOB_3_0_SCHEMA: &str = r#"
CREATE TABLE good_jobs (
    id uuid DEFAULT gen_random_uuid() NOT NULL PRIMARY KEY,
    queue_name text,
    priority integer,
    serialized_params jsonb,
    scheduled_at timestamp without time zone,
    performed_at timestamp without time zone,
    finished_at timestamp without time zone,
    error text,
    created_at timestamp(6) without time zone NOT NULL,
    updated_at timestamp(6) without time zone NOT NULL,
    active_job_id uuid,
    concurrency_key text,
    cron_key text,
    retried_good_job_id uuid,
    cron_at timestamp without time zone
);
CREATE TABLE good_job_processes (
    id uuid DEFAULT gen_random_uuid() NOT NULL PRIMARY KEY,
    created_at timestamp(6) without time zone NOT NULL,
    updated_at timestamp(6) without time zone NOT NULL,
    state jsonb
);
CREATE INDEX index_good_jobs_on_scheduled_at ON good_jobs USING btree (scheduled_at) WHERE (finished_at IS NULL);
CREATE INDEX index_good_jobs_on_queue_name_and_scheduled_at ON good_jobs USING btree (queue_name, scheduled_at) WHERE (finished_at IS NULL);
CREATE INDEX index_good_jobs_on_active_job_id_and_created_at ON good_jobs USING btree (active_job_id, created_at);
CREATE INDEX index_good_jobs_on_concurrency_key_when_unfinished ON good_jobs USING btree (concurrency_key) WHERE (finished_at IS NULL);
CREATE INDEX index_good_jobs_on_cron_key_and_created_at ON good_jobs USING btree (cron_key, created_at);
CREATE UNIQUE INDEX index_good_jobs_on_cron_key_and_cron_at ON good_jobs USING btree (cron_key, cron_at);
CREATE INDEX index_good_jobs_on_active_job_id ON good_jobs USING btree (active_job_id);
CREATE INDEX index_good_jobs_jobs_on_finished_at ON good_jobs USING btree (finished_at) WHERE ((retried_good_job_id IS NULL) AND (finished_at IS NOT NULL));
"#;

/// A v4 process row (`Process.process_state`), refreshed `updated_ms` ago; its id.
pub async fn gj_process(
    c: &mut PgConnection,
    host: &str,
    threads: &[u32],
    updated_ms: i64,
) -> String {
    let schedulers: Vec<String> = threads
        .iter()
        .map(|n| {
            format!(
                r#"{{"name":"GoodJob::Scheduler(queues=* max_threads={n})","queues":"*","max_threads":{n},"active_threads":0,"available_threads":{n},"max_cache":10000,"active_cache":0,"available_cache":10000,"empty_executions_count":0,"errored_executions_count":0,"succeeded_executions_count":0,"total_executions_count":0,"execution_at":null,"check_queue_at":null}}"#
            )
        })
        .collect();
    let state = format!(
        r#"{{"hostname":"{host}","pid":4,"memory":123456,"proctitle":"bin/good_job","preserve_job_records":true,"retry_on_unhandled_error":false,"schedulers":[{}],"cron_enabled":false,"total_succeeded_executions_count":0,"total_errored_executions_count":0,"database_connection_pool":{{"size":10,"active":1}}}}"#,
        schedulers.join(",")
    );
    sqlx::query_scalar(&format!(
        "INSERT INTO good_job_processes (id, created_at, updated_at, state, lock_type) \
         VALUES (gen_random_uuid(), '{}', '{}', '{state}', 0) RETURNING id::text",
        ts(3_600_000),
        ts(updated_ms)
    ))
    .fetch_one(c)
    .await
    .unwrap()
}

/// One `good_jobs` row as v4's `Job.enqueue` (and then `perform`) writes it.
async fn gj_row(
    c: &mut PgConnection,
    queue: &str,
    created: i64,
    due: i64,
    rest: &str,
    values: &str,
) {
    c.execute(
        format!(
            "WITH n AS (SELECT gen_random_uuid() AS id) \
             INSERT INTO good_jobs (id, active_job_id, job_class, queue_name, priority, \
               serialized_params, scheduled_at, created_at, updated_at{rest}) \
             SELECT id, id, 'ExampleJob', '{queue}', 0, '{params}', '{due}', '{created}', \
               '{created}'{values} FROM n",
            params = active_job_params("ExampleJob", queue),
            due = ts(due),
            created = ts(created),
        )
        .as_str(),
    )
    .await
    .unwrap();
}

/// Enqueued `created` ms ago to run `due` ms ago (negative: later).
pub async fn gj_enqueue(c: &mut PgConnection, queue: &str, created: i64, due: i64) {
    gj_row(c, queue, created, due, "", "").await;
}

/// Failed once, retried: due again `due` ms ago.
pub async fn gj_retried(c: &mut PgConnection, queue: &str, created: i64, due: i64) {
    gj_row(
        c,
        queue,
        created,
        due,
        ", executions_count, error, error_event",
        ", 1, 'RuntimeError: boom', 2",
    )
    .await;
}

/// Running since `performed` ms ago on `process`.
pub async fn gj_running(c: &mut PgConnection, queue: &str, performed: i64, process: &str) {
    gj_row(
        c,
        queue,
        performed + 500,
        performed + 500,
        ", performed_at, executions_count, locked_by_id, locked_at, lock_type",
        &format!(", '{p}', 1, '{process}', '{p}', 0", p = ts(performed)),
    )
    .await;
}

/// Finished `ago` ms ago (kept: `preserve_job_records`).
pub async fn gj_finished(c: &mut PgConnection, queue: &str, ago: i64) {
    gj_row(
        c,
        queue,
        ago + 2_000,
        ago + 2_000,
        ", performed_at, finished_at, executions_count",
        &format!(", '{}', '{}', 1", ts(ago + 1_000), ts(ago)),
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// Solid Queue

/// Solid Queue's `lib/generators/solid_queue/install/templates/db/queue_schema.rb` (main), as
/// Rails 7.1 loads it into Postgres (`create_table` gives `id bigserial PRIMARY KEY`).
pub const SOLID_QUEUE_SCHEMA: &str = r#"
CREATE TABLE solid_queue_blocked_executions (
    id bigserial PRIMARY KEY,
    job_id bigint NOT NULL,
    queue_name character varying NOT NULL,
    priority integer DEFAULT 0 NOT NULL,
    concurrency_key character varying NOT NULL,
    expires_at timestamp(6) without time zone NOT NULL,
    created_at timestamp(6) without time zone NOT NULL
);
CREATE INDEX index_solid_queue_blocked_executions_for_release ON solid_queue_blocked_executions USING btree (concurrency_key, priority, job_id);
CREATE INDEX index_solid_queue_blocked_executions_for_maintenance ON solid_queue_blocked_executions USING btree (expires_at, concurrency_key);
CREATE UNIQUE INDEX index_solid_queue_blocked_executions_on_job_id ON solid_queue_blocked_executions USING btree (job_id);
CREATE TABLE solid_queue_claimed_executions (
    id bigserial PRIMARY KEY,
    job_id bigint NOT NULL,
    process_id bigint,
    created_at timestamp(6) without time zone NOT NULL
);
CREATE UNIQUE INDEX index_solid_queue_claimed_executions_on_job_id ON solid_queue_claimed_executions USING btree (job_id);
CREATE INDEX index_solid_queue_claimed_executions_on_process_id_and_job_id ON solid_queue_claimed_executions USING btree (process_id, job_id);
CREATE TABLE solid_queue_failed_executions (
    id bigserial PRIMARY KEY,
    job_id bigint NOT NULL,
    error text,
    created_at timestamp(6) without time zone NOT NULL
);
CREATE UNIQUE INDEX index_solid_queue_failed_executions_on_job_id ON solid_queue_failed_executions USING btree (job_id);
CREATE TABLE solid_queue_jobs (
    id bigserial PRIMARY KEY,
    queue_name character varying NOT NULL,
    class_name character varying NOT NULL,
    arguments text,
    priority integer DEFAULT 0 NOT NULL,
    active_job_id character varying,
    scheduled_at timestamp(6) without time zone,
    finished_at timestamp(6) without time zone,
    concurrency_key character varying,
    created_at timestamp(6) without time zone NOT NULL,
    updated_at timestamp(6) without time zone NOT NULL
);
CREATE INDEX index_solid_queue_jobs_on_active_job_id ON solid_queue_jobs USING btree (active_job_id);
CREATE INDEX index_solid_queue_jobs_on_class_name ON solid_queue_jobs USING btree (class_name);
CREATE INDEX index_solid_queue_jobs_on_finished_at ON solid_queue_jobs USING btree (finished_at);
CREATE INDEX index_solid_queue_jobs_for_filtering ON solid_queue_jobs USING btree (queue_name, finished_at);
CREATE INDEX index_solid_queue_jobs_for_alerting ON solid_queue_jobs USING btree (scheduled_at, finished_at);
CREATE TABLE solid_queue_pauses (
    id bigserial PRIMARY KEY,
    queue_name character varying NOT NULL,
    created_at timestamp(6) without time zone NOT NULL
);
CREATE UNIQUE INDEX index_solid_queue_pauses_on_queue_name ON solid_queue_pauses USING btree (queue_name);
CREATE TABLE solid_queue_processes (
    id bigserial PRIMARY KEY,
    kind character varying NOT NULL,
    last_heartbeat_at timestamp(6) without time zone NOT NULL,
    supervisor_id bigint,
    pid integer NOT NULL,
    hostname character varying,
    metadata text,
    created_at timestamp(6) without time zone NOT NULL,
    name character varying NOT NULL
);
CREATE INDEX index_solid_queue_processes_on_last_heartbeat_at ON solid_queue_processes USING btree (last_heartbeat_at);
CREATE UNIQUE INDEX index_solid_queue_processes_on_name_and_supervisor_id ON solid_queue_processes USING btree (name, supervisor_id);
CREATE INDEX index_solid_queue_processes_on_supervisor_id ON solid_queue_processes USING btree (supervisor_id);
CREATE TABLE solid_queue_ready_executions (
    id bigserial PRIMARY KEY,
    job_id bigint NOT NULL,
    queue_name character varying NOT NULL,
    priority integer DEFAULT 0 NOT NULL,
    created_at timestamp(6) without time zone NOT NULL
);
CREATE UNIQUE INDEX index_solid_queue_ready_executions_on_job_id ON solid_queue_ready_executions USING btree (job_id);
CREATE INDEX index_solid_queue_poll_all ON solid_queue_ready_executions USING btree (priority, job_id);
CREATE INDEX index_solid_queue_poll_by_queue ON solid_queue_ready_executions USING btree (queue_name, priority, job_id);
CREATE TABLE solid_queue_recurring_executions (
    id bigserial PRIMARY KEY,
    job_id bigint NOT NULL,
    task_key character varying NOT NULL,
    run_at timestamp(6) without time zone NOT NULL,
    created_at timestamp(6) without time zone NOT NULL
);
CREATE UNIQUE INDEX index_solid_queue_recurring_executions_on_job_id ON solid_queue_recurring_executions USING btree (job_id);
CREATE UNIQUE INDEX index_solid_queue_recurring_executions_on_task_key_and_run_at ON solid_queue_recurring_executions USING btree (task_key, run_at);
CREATE TABLE solid_queue_recurring_tasks (
    id bigserial PRIMARY KEY,
    key character varying NOT NULL,
    schedule character varying NOT NULL,
    command character varying(2048),
    class_name character varying,
    arguments text,
    queue_name character varying,
    priority integer DEFAULT 0,
    static boolean DEFAULT true NOT NULL,
    description text,
    created_at timestamp(6) without time zone NOT NULL,
    updated_at timestamp(6) without time zone NOT NULL
);
CREATE UNIQUE INDEX index_solid_queue_recurring_tasks_on_key ON solid_queue_recurring_tasks USING btree (key);
CREATE INDEX index_solid_queue_recurring_tasks_on_static ON solid_queue_recurring_tasks USING btree (static);
CREATE TABLE solid_queue_scheduled_executions (
    id bigserial PRIMARY KEY,
    job_id bigint NOT NULL,
    queue_name character varying NOT NULL,
    priority integer DEFAULT 0 NOT NULL,
    scheduled_at timestamp(6) without time zone NOT NULL,
    created_at timestamp(6) without time zone NOT NULL
);
CREATE UNIQUE INDEX index_solid_queue_scheduled_executions_on_job_id ON solid_queue_scheduled_executions USING btree (job_id);
CREATE INDEX index_solid_queue_dispatch_all ON solid_queue_scheduled_executions USING btree (scheduled_at, priority, job_id);
CREATE TABLE solid_queue_semaphores (
    id bigserial PRIMARY KEY,
    key character varying NOT NULL,
    value integer DEFAULT 1 NOT NULL,
    expires_at timestamp(6) without time zone NOT NULL,
    created_at timestamp(6) without time zone NOT NULL,
    updated_at timestamp(6) without time zone NOT NULL
);
CREATE INDEX index_solid_queue_semaphores_on_expires_at ON solid_queue_semaphores USING btree (expires_at);
CREATE INDEX index_solid_queue_semaphores_on_key_and_value ON solid_queue_semaphores USING btree (key, value);
CREATE UNIQUE INDEX index_solid_queue_semaphores_on_key ON solid_queue_semaphores USING btree (key);
ALTER TABLE solid_queue_blocked_executions ADD CONSTRAINT fk_rails_4cd34e2228 FOREIGN KEY (job_id) REFERENCES solid_queue_jobs(id) ON DELETE CASCADE;
ALTER TABLE solid_queue_claimed_executions ADD CONSTRAINT fk_rails_9cfe4d4944 FOREIGN KEY (job_id) REFERENCES solid_queue_jobs(id) ON DELETE CASCADE;
ALTER TABLE solid_queue_failed_executions ADD CONSTRAINT fk_rails_39bbc7a631 FOREIGN KEY (job_id) REFERENCES solid_queue_jobs(id) ON DELETE CASCADE;
ALTER TABLE solid_queue_ready_executions ADD CONSTRAINT fk_rails_81fcbd66af FOREIGN KEY (job_id) REFERENCES solid_queue_jobs(id) ON DELETE CASCADE;
ALTER TABLE solid_queue_recurring_executions ADD CONSTRAINT fk_rails_318a5533ed FOREIGN KEY (job_id) REFERENCES solid_queue_jobs(id) ON DELETE CASCADE;
ALTER TABLE solid_queue_scheduled_executions ADD CONSTRAINT fk_rails_c4316f352d FOREIGN KEY (job_id) REFERENCES solid_queue_jobs(id) ON DELETE CASCADE;
"#;

/// A `solid_queue_jobs` row as `Job.enqueue` writes it; its id.
async fn sq_job(
    c: &mut PgConnection,
    queue: &str,
    scheduled: i64,
    created: i64,
    finished: Option<i64>,
    concurrency_key: Option<&str>,
) -> i64 {
    sqlx::query_scalar(&format!(
        "INSERT INTO solid_queue_jobs (queue_name, class_name, arguments, priority, \
           active_job_id, scheduled_at, finished_at, concurrency_key, created_at, updated_at) \
         VALUES ('{queue}', 'ExampleJob', '{params}', 0, gen_random_uuid()::text, '{s}', {f}, \
           {k}, '{c}', '{c}') RETURNING id",
        params = active_job_params("ExampleJob", queue),
        s = ts(scheduled),
        f = finished.map_or("NULL".to_owned(), |f| format!("'{}'", ts(f))),
        k = concurrency_key.map_or("NULL".to_owned(), |k| format!("'{k}'")),
        c = ts(created),
    ))
    .fetch_one(c)
    .await
    .unwrap()
}

/// Enqueued `age` ms ago to run at once: its ready execution.
pub async fn sq_ready(c: &mut PgConnection, queue: &str, age: i64) {
    let id = sq_job(c, queue, age, age, None, None).await;
    c.execute(
        format!(
            "INSERT INTO solid_queue_ready_executions (job_id, queue_name, priority, created_at) \
             VALUES ({id}, '{queue}', 0, '{}')",
            ts(age)
        )
        .as_str(),
    )
    .await
    .unwrap();
}

/// Enqueued an hour ago for `due` ms ago (negative: later): its scheduled execution.
pub async fn sq_scheduled(c: &mut PgConnection, queue: &str, due: i64) {
    let id = sq_job(c, queue, due, 3_600_000, None, None).await;
    c.execute(
        format!(
            "INSERT INTO solid_queue_scheduled_executions (job_id, queue_name, priority, \
               scheduled_at, created_at) VALUES ({id}, '{queue}', 0, '{}', '{}')",
            ts(due),
            ts(3_600_000)
        )
        .as_str(),
    )
    .await
    .unwrap();
}

/// Claimed by `process` 4 s ago (running).
pub async fn sq_claimed(c: &mut PgConnection, queue: &str, process: i64) {
    let id = sq_job(c, queue, 5_000, 5_000, None, None).await;
    c.execute(
        format!(
            "INSERT INTO solid_queue_claimed_executions (job_id, process_id, created_at) \
             VALUES ({id}, {process}, '{}')",
            ts(4_000)
        )
        .as_str(),
    )
    .await
    .unwrap();
}

/// Blocked by `limits_concurrency`.
pub async fn sq_blocked(c: &mut PgConnection, queue: &str) {
    let id = sq_job(c, queue, 2_000, 2_000, None, Some("ExampleJob/1")).await;
    c.execute(
        format!(
            "INSERT INTO solid_queue_blocked_executions (job_id, queue_name, priority, \
               concurrency_key, expires_at, created_at) \
             VALUES ({id}, '{queue}', 0, 'ExampleJob/1', '{}', '{}')",
            ts(-180_000),
            ts(2_000)
        )
        .as_str(),
    )
    .await
    .unwrap();
}

/// Finished a second ago (`preserve_finished_jobs`: the row stays).
pub async fn sq_finished(c: &mut PgConnection, queue: &str) {
    sq_job(c, queue, 9_000, 9_000, Some(1_000), None).await;
}

/// Failed: its failed execution.
pub async fn sq_failed(c: &mut PgConnection, queue: &str) {
    let id = sq_job(c, queue, 9_000, 9_000, None, None).await;
    c.execute(
        format!(
            "INSERT INTO solid_queue_failed_executions (job_id, error, created_at) VALUES \
             ({id}, '{{\"exception_class\":\"RuntimeError\",\"message\":\"boom\",\"backtrace\":[]}}', '{}')",
            ts(1_000)
        )
        .as_str(),
    )
    .await
    .unwrap();
}

/// A process row as `Process.register` writes it (`name`: kind and 20 hex digits), its last
/// heartbeat `heartbeat` ms ago; its id.
pub async fn sq_process(
    c: &mut PgConnection,
    kind: &str,
    host: &str,
    supervisor: Option<i64>,
    metadata: &str,
    heartbeat: i64,
) -> i64 {
    sqlx::query_scalar(&format!(
        "INSERT INTO solid_queue_processes (kind, last_heartbeat_at, supervisor_id, pid, \
           hostname, metadata, created_at, name) \
         VALUES ('{kind}', '{}', {}, 4, '{host}', '{metadata}', '{}', \
           lower('{kind}') || '-' || substr(md5(random()::text), 1, 20)) RETURNING id",
        ts(heartbeat),
        supervisor.map_or("NULL".to_owned(), |s| s.to_string()),
        ts(3_600_000),
    ))
    .fetch_one(c)
    .await
    .unwrap()
}
