-- One snapshot's rows of a training set: each profiled person's features on $as_of with the
-- label (person_label.sql), or at most $max_rows of them (NULL: every one). The rows kept are
-- those with the smallest sample_key, a hash of the person and the date: a sample fixed by the
-- data alone, so one machine and the shards (each keeping its own smallest, models/sharded.py)
-- keep the same rows, and a rerun or the promotion step keeps them again. md5, not DuckDB's
-- hash(), whose values may change between versions.
-- grain: one row per kept person of $as_of; key: person_id
-- Bound: $as_of, $max_rows.
with labelled as (
    select
        features.*,
        labels.label,
        md5_number_upper(features.person_id || '|' || strftime(features.as_of_date, '%Y-%m-%d'))
            as sample_key
    from features.person_features as features
    inner join features.person_label as labels using (person_id, as_of_date)
    where features.as_of_date = $as_of::date
),

kept as (
    select *
    from labelled
    order by sample_key, person_id
    limit $max_rows
),

final as (
    select *
    from kept
    order by person_id
)

select * from final
