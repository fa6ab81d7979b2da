-- The opt-out file's valid persons into the suppression list, by sha256 of the canonical
-- person_id only (validate_optouts.sql: a MAID in any case gives one key, the one ingest checks).
-- A person listed again keeps the earliest request; an erasure outranks an objection.
-- Bound: $applied_at.
insert into raw.suppressed_persons
with valid as (
    select * from optout_checked where reason is null
),

final as (
    select
        person_key,
        case when bool_or(kind = 'erasure') then 'erasure' else 'objection' end as kind,
        min(requested_at) as requested_at,
        $applied_at as applied_at
    from valid
    group by person_key
)

select * from final
on conflict (person_key) do update set
    kind = case when excluded.kind = 'erasure' then 'erasure' else kind end,
    requested_at = least(requested_at, excluded.requested_at)
