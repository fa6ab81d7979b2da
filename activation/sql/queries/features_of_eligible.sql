-- grain: one row per eligible person with features for the as-of date
-- key: person_id
-- Scoring input: latest consent true and not opted out (marts.person_eligibility).
with features as (
    select * from features.person_features where as_of_date = $as_of
),

eligible as (
    select person_id from marts.person_eligibility where is_eligible
),

final as (
    select features.*
    from features
    inner join eligible on eligible.person_id = features.person_id
)

select * from final;
