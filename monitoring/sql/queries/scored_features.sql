-- grain: one row per person scored by one scoring run
-- key: person_id
-- The features each scored person was scored on, beside the stored score.
with scores as (
    select person_id, as_of_date, score
    from marts.person_scores
    where as_of_date = $as_of and model_name = $model_name and model_version = $model_version
),

final as (
    select features.*, scores.score
    from scores
    inner join features.person_features as features using (person_id, as_of_date)
)

select * from final order by person_id;
