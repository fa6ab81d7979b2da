-- The checked rows of one ingest batch (check_events.sql's output, every file of the batch), from
-- which one transaction routes valid rows to raw.events and bad ones to raw.quarantine_rows.
-- It lives in the in-memory database ingest_scratch (batch.ingest_scratch attaches it for one
-- batch and detaches it after), not in a connection's temp schema: every connection of the DuckDB
-- instance sees an attached database, so the batch's files are read into it on several
-- connections at once. A row rejected for personal data holds none of its values here either
-- (check_events.sql drops them).
-- grain: one row per data row read; key: (file_position, source_ordinal)
create or replace table ingest_scratch.ingest_checked (
    file_position integer not null,  -- 1-based position of the file in the batch (name order)
    source_ordinal bigint not null,  -- the reader's row number within its file
    reason varchar,  -- NULL for a valid row
    field_name_set varchar,  -- column names joined by chr(31), when some is outside the contract
    reason_field varchar,
    event_id varchar,
    occurred_at timestamp,
    person_id varchar,
    id_type varchar,
    event_type varchar,
    content_id varchar,
    campaign_id varchar,
    channel varchar,
    watch_seconds double,
    region varchar,
    device varchar,
    consent boolean,
    municipality varchar
);

-- Lines the CSV reader could not split into rows, by file; quarantined as malformed_row.
create or replace table ingest_scratch.ingest_rejected_lines (
    file_position integer not null,
    line bigint not null
);
