-- A shard's part of a batch (shard_valid_events.sql) back into its own ingest_checked, as valid
-- rows, less the files this shard stored before (a rerun after the main warehouse missed them).
-- Bound: $part_paths, $stored_positions.
insert into ingest_scratch.ingest_checked by name
select *
from read_parquet($part_paths)
where not list_contains($stored_positions, file_position)
