-- grain: one row per person, as-of date and model version scored
-- key: (person_id, as_of_date, model_name, model_version)
-- score is the model's calibrated probability of an intent event within the label horizon.
-- Rank and decile are derived in marts.scores_ranked, so they always agree with the scores.
create table marts.person_scores (
    person_id varchar not null,
    id_type varchar not null,
    as_of_date date not null,
    model_name varchar not null,
    model_version varchar not null,
    model_run_id varchar not null,
    score double not null check (score >= 0 and score <= 1),
    scored_at timestamptz not null,
    primary key (person_id, as_of_date, model_name, model_version)
);
