-- A shard's copy of the main warehouse's opt-out list (raw.suppressed_persons), brought up to
-- date in the shard's transaction before its events are stored, so batch_skipped_events.sql
-- drops the same persons on a shard as on a single machine.
-- Bound: $path (the list as the main warehouse's ingest wrote it).
insert or replace into raw.suppressed_persons
select * from read_parquet($path)
