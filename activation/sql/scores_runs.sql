-- grain: one row per as-of date and model version scored
-- key: (as_of_date, model_name, model_version)
-- What an export needs to describe the model behind a set of scores, without asking MLflow.
create table marts.scores_runs (
    as_of_date date not null,
    model_name varchar not null,
    model_version varchar not null,
    model_run_id varchar not null,
    test_metrics json not null,
    persons_scored bigint not null,
    scored_at timestamptz not null,
    primary key (as_of_date, model_name, model_version)
);
