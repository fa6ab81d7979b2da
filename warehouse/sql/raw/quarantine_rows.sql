-- grain: one row per rejected input row
-- key: (file_sha256, source_row_number)
-- Holds where the row came from and why it was rejected; never the row's values, so no
-- personal data can hide here. event_id is kept only when it passed the PII checks.
create table raw.quarantine_rows (
    file_sha256 varchar not null,
    file_name varchar not null,
    source_row_number bigint not null,
    reason varchar not null,
    field varchar,
    event_id varchar,
    quarantined_at timestamptz not null
);
