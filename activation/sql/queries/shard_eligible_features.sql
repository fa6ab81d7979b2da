-- grain: one row per eligible person of a shard
-- key: person_id
-- A shard's share of what an export reads (activation/shard_export.py): every person who may
-- be targeted now, with their features for the as-of date (all null when they have none).
with eligibility as (
    select person_id from marts.person_eligibility where is_eligible
),

features_of_date as (
    select * from features.person_features where as_of_date = $as_of
),

final as (
    select
        eligibility.person_id,
        features_of_date.* exclude (person_id)
    from eligibility
    left join features_of_date on features_of_date.person_id = eligibility.person_id
)

select * from final;
