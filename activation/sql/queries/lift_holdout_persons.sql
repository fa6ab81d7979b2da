-- grain: one row per held-out person of one segment and as-of date who has not opted out
-- key: person_id
-- export_version says which export run drew the holdout: a later export of the same segment
-- and date replaces it (activation/export_run.py), so the caller checks it is the run measured.
-- Opt-outs erase holdout rows already; the anti-join keeps a suppressed person out even so.
with holdouts as (
    select * from marts.segment_holdouts
    where segment_name = $segment and as_of_date = $as_of
),

suppressed as (
    select person_key from raw.suppressed_persons
),

final as (
    select
        holdouts.person_id,
        holdouts.id_type,
        holdouts.export_version
    from holdouts
    anti join suppressed on suppressed.person_key = sha256(holdouts.person_id)
)

select * from final order by person_id;
