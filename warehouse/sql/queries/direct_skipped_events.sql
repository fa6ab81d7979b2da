-- After a direct load: the file's rows that must not stay in raw.events, each once, with why.
-- The same rules as insert_events.sql: events of suppressed (opted-out) persons; later copies
-- of an event_id repeated in the file (the first in file order stays); every copy of an
-- event_id already stored by another file. Bound: $file_sha256.
with file_rows as (
    select event_id, person_id, source_row_number
    from raw.events
    where file_sha256 = $file_sha256
),

suppressed as (
    select file_rows.source_row_number
    from file_rows
    semi join raw.suppressed_persons as suppressed
        on suppressed.person_key = sha256(file_rows.person_id)
),

repeated_ids as (
    select event_id, min(source_row_number) as first_row_number
    from file_rows
    group by event_id
    having count(*) > 1
),

later_copies as (
    select file_rows.source_row_number
    from file_rows
    inner join repeated_ids on repeated_ids.event_id = file_rows.event_id
    where file_rows.source_row_number > repeated_ids.first_row_number
),

stored_before as (
    select file_rows.source_row_number
    from file_rows
    semi join (
        select event_id from raw.events where file_sha256 <> $file_sha256
    ) as loaded on loaded.event_id = file_rows.event_id
),

final as (
    select source_row_number, bool_or(why = 'suppressed') as is_suppressed
    from (
        select source_row_number, 'suppressed' as why from suppressed
        union all
        select source_row_number, 'duplicate' as why from later_copies
        union all
        select source_row_number, 'duplicate' as why from stored_before
    )
    group by source_row_number
)

select * from final
