-- grain: one row per score decile of one scoring run (backtest_persons in monitor_persons)
-- key: decile
-- Realised intent rate beside the mean predicted score, per decile.
with persons as (
    select * from monitor_persons
),

final as (
    select
        decile,
        count(*) as persons,
        count(*) filter (where label) as persons_with_intent,
        avg(score) as mean_score,
        avg(label::integer) as realised_rate
    from persons
    group by decile
)

select * from final order by decile;
