-- grain: one row per report date
-- key: as_of_date
-- How each creative report was made: its windows, the model that scored persons before the
-- exposure, and the settings that decide who is counted and what is ranked.
create table marts.creative_report_runs (
    as_of_date date not null primary key,
    exposure_start date not null,
    outcome_start date not null,
    horizon_days integer not null,
    intent_types varchar[] not null,
    engagement_types varchar[] not null,
    strata integer not null,
    min_persons integer not null,
    model_name varchar not null,
    model_version varchar not null,
    model_run_id varchar not null,
    persons_scored bigint not null,
    created_at timestamptz not null
);
