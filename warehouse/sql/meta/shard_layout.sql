-- grain: one row when the warehouse is sharded, none otherwise (a single-machine warehouse)
-- key: shard_count
-- Fixed when the shards are made: an event goes to shard norrut_shard_of(person_id,
-- shard_count) (shard_macros.sql), so a person's shard never changes. Held by the main
-- warehouse file only; the shards are the files <home>/shards/shard-NNN.duckdb.
create table meta.shard_layout (
    shard_count integer not null check (shard_count between 1 and 4096),
    created_at timestamptz not null
);
