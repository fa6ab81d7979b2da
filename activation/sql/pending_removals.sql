-- grain: one row per platform identifier awaiting its removal upload at one destination of one segment
-- key: (segment_name, destination, platform_id)
-- The identifier of a person who opted out, exactly as an earlier export sent it to that
-- destination (a lower-cased MAID, or its SHA-256 for Snapchat), kept only so the next remove
-- file of that segment and destination can tell the platform to drop them; the export run
-- that writes that remove file deletes the row in the same transaction (docs/contract.md §3).
-- Deliberately not in meta.person_tables: erasure writes these rows, it must not delete them.
create table marts.pending_removals (
    segment_name varchar not null,
    destination varchar not null,
    platform_id varchar not null,
    optout_run_id varchar not null,
    recorded_at timestamptz not null,
    primary key (segment_name, destination, platform_id)
);
