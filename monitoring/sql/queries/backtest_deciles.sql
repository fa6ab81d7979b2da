-- grain: one row per score decile of one scoring run (backtest_persons.sql of every place, in
-- monitor_persons)
-- key: decile
-- Realised intent rate beside the mean predicted score, per decile. The scores are summed in
-- person order: a floating-point sum depends on its order, and a parallel aggregate's is not
-- the same from run to run, so the mean is the same on one machine and on shards.
with persons as (
    select * from monitor_persons
),

final as (
    select
        decile,
        count(*) as persons,
        count(*) filter (where label) as persons_with_intent,
        list_sum(list(score order by person_id)) / count(*) as mean_score,
        avg(label::integer) as realised_rate
    from persons
    group by decile
)

select * from final order by decile;
