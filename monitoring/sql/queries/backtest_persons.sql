-- grain: one row per person of monitor_scores (one scoring run's persons in this file) who has
-- a label
-- key: person_id
-- Each scored person's score, decile and label (monitor_labels: features/person_label.sql run
-- for the run's as-of date, horizon and intent types), for the backtest's deciles and totals.
with scores as (
    select person_id, score, decile from monitor_scores
),

final as (
    select scores.person_id, scores.score, scores.decile, labels.label
    from scores
    inner join monitor_labels as labels using (person_id)
)

select * from final order by person_id;
