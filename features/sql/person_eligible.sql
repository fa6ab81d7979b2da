-- grain: one row per person who may be profiled (latest consent true, not opted out)
-- key: person_id
-- Materialised once per build so the feature tables do not each recompute the latest consent.
create or replace table features.person_eligible as
with eligibility as (
    select * from marts.person_eligibility
),

final as (
    select
        person_id,
        id_type
    from eligibility
    where is_eligible
)

select * from final;
