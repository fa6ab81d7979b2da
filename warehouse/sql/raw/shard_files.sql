-- grain: one row per event file whose events a shard has stored (its share of the file)
-- key: file_sha256
-- Written in the same transaction as the shard's events of the file, so a shard killed mid-load
-- keeps both or neither, and a rerun after the main warehouse's manifest missed the file stores
-- nothing twice: it reads the counts back. Empty in the main file and on a single machine.
create table raw.shard_files (
    file_sha256 varchar primary key,
    valid_rows bigint not null,  -- the file's valid rows of this shard's persons
    suppressed_rows bigint not null,  -- of them, dropped for an opted-out person
    duplicate_rows bigint not null,  -- of them, skipped as an event_id stored already
    stored_at timestamptz not null
);
