-- After a direct load: the file's events that must not stay in raw.events, with why. The same
-- rules as insert_events.sql: events of suppressed (opted-out) persons, and events whose
-- event_id another file already stored. (A file that repeats an event_id within itself is
-- loaded line-checked, where file order decides which copy stays; see repeated_event_ids.sql.)
-- Bound: $file_sha256.
with file_rows as (
    select event_id, person_id
    from raw.events
    where file_sha256 = $file_sha256
),

suppressed as (
    select file_rows.event_id
    from file_rows
    semi join raw.suppressed_persons as suppressed
        on suppressed.person_key = sha256(file_rows.person_id)
),

stored_before as (
    select file_rows.event_id
    from file_rows
    semi join (
        select event_id from raw.events where file_sha256 <> $file_sha256
    ) as loaded on loaded.event_id = file_rows.event_id
),

final as (
    select event_id, bool_or(why = 'suppressed') as is_suppressed
    from (
        select event_id, 'suppressed' as why from suppressed
        union all
        select event_id, 'duplicate' as why from stored_before
    )
    group by event_id
)

select * from final
