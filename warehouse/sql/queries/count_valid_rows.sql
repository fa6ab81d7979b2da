-- The staged file's valid rows, and how many of them belong to suppressed (opted-out) persons.
-- person_id is in canonical form already (validate_events.sql), as opt-outs key it.
with valid as (
    select person_id from ingest_checked where reason is null
),

suppressed as (
    select person_key from raw.suppressed_persons
),

final as (
    select
        count(*) as valid_rows,
        count(suppressed.person_key) as suppressed_rows
    from valid
    left join suppressed on suppressed.person_key = sha256(valid.person_id)
)

select * from final
