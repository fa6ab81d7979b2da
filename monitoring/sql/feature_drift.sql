-- grain: one row per scoring run (as-of date, model and version) and model feature, plus one
-- for the score itself (feature 'score')
-- key: (as_of_date, model_name, model_version, feature)
-- Population stability index of the scored persons' values against the champion's training
-- snapshot (reference_as_of), on quantile bins of the reference with nulls a bin of their own.
create table marts.feature_drift (
    as_of_date date not null,
    model_name varchar not null,
    model_version varchar not null,
    feature varchar not null,
    reference_as_of date not null,
    psi double not null,
    measured_at timestamptz not null,
    primary key (as_of_date, model_name, model_version, feature)
);
