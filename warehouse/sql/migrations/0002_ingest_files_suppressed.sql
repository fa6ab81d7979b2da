-- Schema v2 counts the events of opted-out persons that a load dropped.
-- (DuckDB cannot add a column with a NOT NULL constraint; the default fills old rows.)
alter table raw.ingest_files add column suppressed_dropped bigint default 0;
