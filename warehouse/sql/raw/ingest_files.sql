-- grain: one row per distinct event file content seen by ingestion
-- key: file_sha256
-- Written in the same transaction as the file's events, so a killed run leaves either both or neither.
create table raw.ingest_files (
    file_sha256 varchar primary key,
    file_name varchar not null,
    file_format varchar not null,
    status varchar not null check (status in ('loaded', 'quarantined')),
    rows_read bigint not null,
    rows_loaded bigint not null,
    rows_quarantined bigint not null,
    duplicates_skipped bigint not null,
    unknown_columns varchar[] not null,
    unknown_column_count integer not null,
    failure_reason varchar,
    seconds double not null,
    ingested_at timestamptz not null
);
