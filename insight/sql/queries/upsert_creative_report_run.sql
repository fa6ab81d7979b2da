-- grain: one row per report date
-- key: as_of_date
insert or replace into marts.creative_report_runs by name
select
    $as_of::date as as_of_date,
    $exposure_start::date as exposure_start,
    $outcome_start::date as outcome_start,
    $horizon_days::integer as horizon_days,
    $intent_types::varchar[] as intent_types,
    $engagement_types::varchar[] as engagement_types,
    $strata::integer as strata,
    $min_persons::integer as min_persons,
    $model_name as model_name,
    $model_version as model_version,
    $model_run_id as model_run_id,
    $persons_scored::bigint as persons_scored,
    $created_at::timestamptz as created_at;
