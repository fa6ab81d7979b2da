-- The shard of a person (warehouse.shards.shard_of gives the same in Python): the upper 64 bits
-- of the md5 of its canonical person_id, modulo the shard count. md5, not DuckDB's hash(), whose
-- values may change between versions; a person's shard must never change.
create or replace temp macro norrut_shard_of(person_id, shard_count) as
    cast(md5_number_upper(person_id) % shard_count as integer);
