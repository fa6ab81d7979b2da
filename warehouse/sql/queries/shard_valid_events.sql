-- A batch's valid rows (ingest_checked) with the shard of each row's person, written by the main
-- warehouse's ingest to the staging folder as Parquet, one hive partition (shard=N) per shard,
-- for the shards to store (shard_checked_events.sql). A valid row has no reason to keep. A COPY
-- streams the rows to the files; a relation with bound parameters would be run, and held, first.
-- Bound: $shard_count, $folder.
copy (
    select
        * exclude (reason, field_name_set, reason_field),
        norrut_shard_of(person_id, $shard_count) as shard
    from ingest_checked
    where reason is null
) to $folder (format parquet, partition_by (shard))
