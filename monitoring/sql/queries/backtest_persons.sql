-- grain: one row per person of one scoring run who has a label
-- key: person_id
-- Each scored person's score, decile and label (monitor_labels: features/person_label.sql run
-- for the run's as-of date, horizon and intent types), for the backtest's deciles and totals.
with scores as (
    select person_id, score, decile
    from marts.scores_ranked
    where as_of_date = $as_of and model_name = $model_name and model_version = $model_version
),

final as (
    select scores.person_id, scores.score, scores.decile, labels.label
    from scores
    inner join monitor_labels as labels using (person_id)
)

select * from final order by person_id;
