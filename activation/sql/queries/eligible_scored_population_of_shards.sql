-- grain: one row per scored person who may be targeted now, of a sharded warehouse
-- key: person_id
-- eligible_scored_population.sql with eligibility and features gathered from the shards: the
-- registered `shard_eligible_features` holds every shard's shard_eligible_features.sql rows.
with scores as (
    select * from marts.scores_ranked
    where as_of_date = $as_of and model_name = $model_name and model_version = $model_version
),

gathered as (
    select * from shard_eligible_features
),

final as (
    select
        scores.person_id, scores.id_type, scores.score, scores.rank, scores.decile,
        gathered.home_region,
        columns('^theme_share_90d__')
    from scores
    inner join gathered on gathered.person_id = scores.person_id
)

select * from final order by rank;
