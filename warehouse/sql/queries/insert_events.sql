-- One file's valid rows into raw.events. Events of suppressed (opted-out) persons are dropped;
-- an event_id repeated in the file or already in the warehouse is stored once (the first
-- occurrence in file order wins). Bound: $file_sha256, $header_lines.
insert into raw.events
with valid as (
    select * from ingest_checked where reason is null
),

not_suppressed as (
    select valid.*
    from valid
    anti join raw.suppressed_persons as suppressed
        on suppressed.person_key = sha256(valid.person_id)
),

first_in_file as (
    select *
    from not_suppressed
    qualify row_number() over (partition by event_id order by source_ordinal) = 1
),

new_events as (
    select first_in_file.*
    from first_in_file
    anti join raw.events as loaded on loaded.event_id = first_in_file.event_id
),

numbered as (
    select
        new_events.*,
        new_events.source_ordinal + $header_lines + coalesce(offsets.rejected_before, 0)
            as source_row_number
    from new_events
    asof left join ingest_line_offsets as offsets
        on new_events.source_ordinal > offsets.good_rows_before
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
        source_row_number
    from numbered
)

select * from final
