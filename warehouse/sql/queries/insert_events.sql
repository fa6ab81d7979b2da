-- One file's valid rows into raw.events. Events of suppressed (opted-out) persons are dropped;
-- an event_id repeated in the file or already in the warehouse is stored once (the first
-- occurrence in file order wins). Repeats are found on narrow (event_id, ordinal) pairs, and ids
-- already stored by probing raw.events with the file's narrow event_ids, so the wide rows only
-- stream through anti-joins against small tables. Each step reads ingest_checked itself: a step
-- used by several others would be materialised, copying every wide row once more.
-- Bound: $file_sha256.
insert into raw.events
with file_ids as (
    select event_id, source_ordinal from ingest_checked where reason is null
),

repeated_ids as (
    select event_id, min(source_ordinal) as first_ordinal
    from file_ids
    group by event_id
    having count(*) > 1
),

skipped as (
    -- later copies of an id repeated in the file
    select file_ids.source_ordinal
    from file_ids
    inner join repeated_ids on repeated_ids.event_id = file_ids.event_id
    where file_ids.source_ordinal > repeated_ids.first_ordinal
    union all
    -- every copy of an id already stored
    select file_ids.source_ordinal
    from file_ids
    semi join raw.events as loaded on loaded.event_id = file_ids.event_id
),

new_events as (
    select valid.*
    from ingest_checked as valid
    -- person_id is in canonical form already (validate_events.sql), as opt-outs key it
    anti join raw.suppressed_persons as suppressed
        on suppressed.person_key = sha256(valid.person_id)
    anti join skipped on skipped.source_ordinal = valid.source_ordinal
    where valid.reason is null
),

final as (
    select
        event_id,
        occurred_at,
        person_id,
        id_type,
        event_type,
        content_id,
        campaign_id,
        channel,
        watch_seconds,
        region,
        device,
        consent,
        municipality,
        $file_sha256 as file_sha256
    from new_events
)

select * from final
