-- grain: one row per person, as-of date and model version scored
-- key: (person_id, as_of_date, model_name, model_version)
-- rank 1 is the most likely person; decile 1 the top tenth (contract §4). Ties in score are
-- broken by person_id so a rerun ranks the same way.
create or replace view marts.scores_ranked as
with scores as (
    select * from marts.person_scores
),

final as (
    select
        person_id,
        id_type,
        as_of_date,
        model_name,
        model_version,
        model_run_id,
        score,
        row_number() over scored_order as rank,
        ntile(10) over scored_order as decile,
        scored_at
    from scores
    window scored_order as (
        partition by as_of_date, model_name, model_version
        order by score desc, person_id
    )
)

select * from final;
