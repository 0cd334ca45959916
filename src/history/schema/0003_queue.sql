-- autoscale history, version 3 (issue "Workers"): a worker's queue minutes (the `event=queue`
-- fields, with the dynos and concurrency each was read at), packed per target and hour like the
-- traffic. `data` is the binary format of src/history/pack.rs; `n` the minutes it holds; `hour`
-- the hour's start in milliseconds since the epoch, UTC. (SQLite: BYTEA is BLOB.)

CREATE TABLE autoscale_queue_hours (
    target_id BIGINT NOT NULL,
    hour BIGINT NOT NULL,
    n INTEGER NOT NULL,
    data BYTEA NOT NULL,
    PRIMARY KEY (target_id, hour)
);
