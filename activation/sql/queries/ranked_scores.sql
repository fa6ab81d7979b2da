-- grain: one row per person scored by one model version for the as-of date
-- key: person_id
-- The contract's generic columns (§4), most likely person first.
with final as (
    select person_id, id_type, score, rank, decile
    from marts.scores_ranked
    where as_of_date = $as_of and model_name = $model_name and model_version = $model_version
)

select * from final order by rank;
