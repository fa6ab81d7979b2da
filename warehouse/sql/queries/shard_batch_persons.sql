-- The persons of a batch's valid rows (ingest_checked) and the shard of each: the shard is
-- computed once a person, not once an event (md5 of every row cost more than the join that
-- spreads it), for shard_valid_events.sql. A temp table, dropped after its batch.
-- grain: one row per person with a valid row in the batch; key: person_id
-- Bound: $shard_count.
create or replace temp table ingest_person_shards as
select
    person_id,
    norrut_shard_of(person_id, $shard_count) as shard
from (
    select distinct person_id
    from ingest_scratch.ingest_checked
    where reason is null
)
