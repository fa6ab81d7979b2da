-- grain: one row per scored person who may be targeted now
-- key: person_id
-- Consent and opt-outs are checked again at export, not only at scoring: a person who withdrew
-- consent or opted out since the scores were made is in no file. Ordered by rank, so the
-- drivers' means add up the persons in one order whatever the plan (and the shards) did.
with scores as (
    select * from marts.scores_ranked
    where as_of_date = $as_of and model_name = $model_name and model_version = $model_version
),

eligible as (
    select person_id from marts.person_eligibility where is_eligible
),

features as (
    select * from features.person_features where as_of_date = $as_of
),

final as (
    select
        scores.person_id,
        scores.id_type,
        scores.score,
        scores.rank,
        scores.decile,
        features.home_region,
        columns('^theme_share_90d__')
    from scores
    inner join eligible on eligible.person_id = scores.person_id
    left join features on features.person_id = scores.person_id
)

select * from final order by rank;
