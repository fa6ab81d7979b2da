-- One file's valid rows into raw.events. Events of suppressed (opted-out) persons are dropped;
-- an event_id repeated in the file or already in the warehouse is stored once (the first
-- occurrence in file order wins). Repeats are found on narrow (event_id, ordinal) pairs so the
-- wide rows only stream through anti-joins. Bound: $file_sha256, $header_lines.
insert into raw.events
with valid as (
    select * from ingest_checked where reason is null
),

repeated_ids as (
    select event_id, min(source_ordinal) as first_ordinal
    from valid
    group by event_id
    having count(*) > 1
),

later_copies as (
    select valid.source_ordinal
    from valid
    inner join repeated_ids on repeated_ids.event_id = valid.event_id
    where valid.source_ordinal > repeated_ids.first_ordinal
),

not_suppressed as (
    select valid.*
    from valid
    anti join raw.suppressed_persons as suppressed
        on suppressed.person_key = sha256(valid.person_id)
),

first_in_file as (
    select not_suppressed.*
    from not_suppressed
    anti join later_copies on later_copies.source_ordinal = not_suppressed.source_ordinal
),

new_events as (
    select first_in_file.*
    from first_in_file
    anti join raw.events as loaded on loaded.event_id = first_in_file.event_id
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
        $file_sha256 as file_sha256,
        source_ordinal + $header_lines as source_row_number
    from new_events
)

select * from final
