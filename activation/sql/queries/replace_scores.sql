-- grain: one row per person in the registered batch `scored_batch`
-- key: person_id
-- Run inside a transaction after delete_scores.sql, so a rerun replaces its own rows only.
insert into marts.person_scores
select
    person_id,
    id_type,
    $as_of as as_of_date,
    $model_name as model_name,
    $model_version as model_version,
    $run_id as model_run_id,
    score,
    $scored_at as scored_at
from scored_batch;
