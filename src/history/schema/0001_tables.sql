-- autoscale history, version 1. One text for Postgres and SQLite: portable types only
-- (SQLite reads BIGINT as INTEGER, DOUBLE PRECISION as REAL, BOOLEAN as NUMERIC).
-- Times are milliseconds since the Unix epoch, UTC. Names start with autoscale_ because the
-- tables usually live in the app's own DATABASE_URL, beside the app's tables.
-- Columns are ordered widest first: Postgres pads each column to its alignment.

-- The names behind a target id (FNV-1a 64 of app, NUL, process: the same in every shard).
CREATE TABLE autoscale_targets (
    id BIGINT PRIMARY KEY,
    app TEXT NOT NULL,
    process TEXT NOT NULL
);

-- One row per target and minute of router traffic (the event=traffic fields); an upsert.
CREATE TABLE autoscale_traffic (
    target_id BIGINT NOT NULL,
    minute BIGINT NOT NULL,
    busy DOUBLE PRECISION NOT NULL,
    requests INTEGER NOT NULL,
    p50_ms INTEGER NOT NULL,
    p95_ms INTEGER NOT NULL,
    p99_ms INTEGER NOT NULL,
    errors INTEGER NOT NULL,
    h10 INTEGER NOT NULL,
    h12 INTEGER NOT NULL,
    h13 INTEGER NOT NULL,
    s2xx INTEGER NOT NULL,
    s3xx INTEGER NOT NULL,
    s4xx INTEGER NOT NULL,
    s5xx INTEGER NOT NULL,
    dynos INTEGER NOT NULL,
    PRIMARY KEY (target_id, minute)
);

-- Checks: source probe|traffic, outcome down|slow|ok|fast; status and latency when known.
CREATE TABLE autoscale_probes (
    target_id BIGINT NOT NULL,
    at BIGINT NOT NULL,
    latency_ms INTEGER,
    status INTEGER,
    source TEXT NOT NULL,
    outcome TEXT NOT NULL
);
CREATE INDEX autoscale_probes_target_at ON autoscale_probes (target_id, at);

-- Scale decisions (event=scale): from and to quantities, reason, result.
CREATE TABLE autoscale_scales (
    target_id BIGINT NOT NULL,
    at BIGINT NOT NULL,
    from_quantity INTEGER NOT NULL,
    to_quantity INTEGER NOT NULL,
    reason TEXT NOT NULL,
    result TEXT NOT NULL
);
CREATE INDEX autoscale_scales_target_at ON autoscale_scales (target_id, at);

-- Holds starting (ended false) and ending (ended true); until NULL: until further notice.
CREATE TABLE autoscale_holds (
    target_id BIGINT NOT NULL,
    at BIGINT NOT NULL,
    until BIGINT,
    quantity INTEGER NOT NULL,
    ended BOOLEAN NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX autoscale_holds_target_at ON autoscale_holds (target_id, at);

-- Alerts as sent (message cut at 1 KiB).
CREATE TABLE autoscale_alerts (
    target_id BIGINT NOT NULL,
    at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    message TEXT NOT NULL
);
CREATE INDEX autoscale_alerts_target_at ON autoscale_alerts (target_id, at);
