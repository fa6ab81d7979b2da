-- grain: one row per id in the registered relation `exported_ids` (a destination's file) and
-- warehouse person the exporter would have written as that id
-- key: (file_id, person_id)
-- $id_form is how the destination's exporter wrote a person_id: 'canonical'
-- (norrut_canonical_person_id, from contract_macros.sql: a MAID lower-cased, so a warehouse
-- older than canonical storage matches too), 'lower' (lower-cased) or 'sha256_lower' (SHA-256
-- hex of the lower-cased id). An id that matches no person left
-- the warehouse with an opt-out (erasure deletes every event); suppressed persons are also
-- excluded explicitly.
with file_ids as (
    select distinct file_id from exported_ids
),

persons as (
    select distinct person_id from raw.events
),

suppressed as (
    select person_key from raw.suppressed_persons
),

written_as as (
    select
        persons.person_id,
        case $id_form
            when 'canonical' then norrut_canonical_person_id(persons.person_id)
            when 'lower' then lower(persons.person_id)
            when 'sha256_lower' then sha256(lower(persons.person_id))
        end as file_id
    from persons
    -- keyed by the canonical id; a key made before canonical ids hashed the id as given
    anti join suppressed
        on suppressed.person_key in (sha256(norrut_canonical_person_id(persons.person_id)),
                                     sha256(persons.person_id))
),

final as (
    select
        file_ids.file_id,
        written_as.person_id
    from file_ids
    inner join written_as on written_as.file_id = file_ids.file_id
)

select * from final order by file_id, person_id;
