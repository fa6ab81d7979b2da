-- Removes from raw.events, inside the batch's own transaction, the rows a direct load must not
-- keep (temp table ingest_direct_skipped, made by direct_skipped_events.sql; an event_id is
-- unique within each of the batch's files by then).
delete from raw.events
using ingest_direct_skipped as skipped
where raw.events.event_id = skipped.event_id
    and raw.events.file_sha256 = skipped.file_sha256
