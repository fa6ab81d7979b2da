-- grain: one row per held-out person in the registered batch `held_out`
-- key: person_id
insert into marts.segment_holdouts
select
    $segment as segment_name,
    $as_of as as_of_date,
    person_id,
    id_type,
    score,
    $model_name as model_name,
    $model_version as model_version,
    $version as export_version,
    $recorded_at as recorded_at
from held_out;
