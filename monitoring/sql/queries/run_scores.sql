-- grain: one row per person scored by one scoring run
-- key: person_id
-- Each scored person's score and decile, for the per-person measures (monitor_scores).
with ranked as (
    select person_id, score, decile
    from marts.scores_ranked
    where as_of_date = $as_of and model_name = $model_name and model_version = $model_version
),

final as (
    select * from ranked
)

select * from final order by person_id
