-- grain: one row per person of monitor_scores (one scoring run's persons in this file)
-- key: person_id
-- The features each scored person was scored on, beside the stored score.
with scores as (
    select person_id, score from monitor_scores
),

final as (
    select features.*, scores.score
    from scores
    inner join features.person_features as features using (person_id)
    where features.as_of_date = $as_of
)

select * from final order by person_id;
