-- The valid rows of a batch that must not be stored, each with why (temp table ingest_skipped),
-- the same rules as if the batch's files loaded one after another in name order:
-- - every event of a suppressed (opted-out) person goes;
-- - of the others, an event whose event_id is stored already goes, and of the copies of an
--   event_id within the batch only the first (earliest file, then earliest line) stays.
-- Most steps touch only the few event_ids or persons that matter; ingest_checked is scanned
-- where needed rather than copied. person_id is in canonical form already (check_events.sql), as
-- opt-outs key it.
-- grain: one row per skipped row; key: (file_position, source_ordinal)
create or replace temp table ingest_skipped as
with valid as not materialized (
    select file_position, source_ordinal, event_id, person_id
    from ingest_scratch.ingest_checked
    where reason is null
),

-- each person hashed once, not once per event
suppressed_persons as (
    select persons.person_id
    from (select distinct person_id from valid) as persons
    semi join raw.suppressed_persons as suppressed
        on suppressed.person_key = sha256(persons.person_id)
),

unsuppressed as not materialized (
    select * from valid anti join suppressed_persons using (person_id)
),

-- Every stored event is probed against the batch's ids, so the join holds the batch's ids in
-- memory, not the whole warehouse's.
stored_ids as (
    select distinct stored.event_id
    from raw.events as stored
    semi join valid using (event_id)
),

repeated_ids as (
    select event_id
    from unsuppressed
    anti join stored_ids using (event_id)
    group by event_id
    having count(*) > 1
),

later_copies as (
    select file_position, source_ordinal
    from (
        select
            file_position,
            source_ordinal,
            row_number() over (
                partition by event_id order by file_position, source_ordinal) as copy_number
        from unsuppressed
        semi join repeated_ids using (event_id)
    )
    where copy_number > 1
),

final as (
    select file_position, source_ordinal, true as is_suppressed
    from valid
    semi join suppressed_persons using (person_id)
    union all
    select file_position, source_ordinal, false
    from unsuppressed
    semi join stored_ids using (event_id)
    union all
    select file_position, source_ordinal, false
    from later_copies
)

select * from final
