-- autoscale history, version 2 (issue "Lean"): traffic minutes and probes packed per target and
-- hour, one row each instead of one per minute or probe (a row's header and its index entry cost
-- more than a minute's numbers). `data` is the binary format of src/history/pack.rs (versioned:
-- its first byte), `n` the minutes or probes it holds. `hour` is the hour's start, milliseconds
-- since the epoch, UTC. The rows of version 1's autoscale_traffic and autoscale_probes are
-- converted by the writer in batches, then those tables are dropped. (SQLite: BYTEA is BLOB.)

CREATE TABLE autoscale_traffic_hours (
    target_id BIGINT NOT NULL,
    hour BIGINT NOT NULL,
    n INTEGER NOT NULL,
    data BYTEA NOT NULL,
    PRIMARY KEY (target_id, hour)
);

CREATE TABLE autoscale_probe_hours (
    target_id BIGINT NOT NULL,
    hour BIGINT NOT NULL,
    n INTEGER NOT NULL,
    data BYTEA NOT NULL,
    PRIMARY KEY (target_id, hour)
);
