-- Removes from raw.events, inside the file's own transaction, the rows a direct load must not
-- keep (temp table ingest_direct_skipped, made by direct_skipped_events.sql; event_ids are
-- unique within the file). Bound: $file_sha256.
delete from raw.events
where file_sha256 = $file_sha256
    and event_id in (select event_id from ingest_direct_skipped)
