-- grain: one row per scoring run (as-of date, model and version)
-- key: (as_of_date, model_name, model_version)
-- The health of one scoring run: its drift against the champion's training snapshot (known at
-- once) and, once its label horizon has passed (matured), its backtest totals; the breaches
-- name each threshold of the monitor job's settings the run crossed. Aggregates only.
create table marts.model_health_runs (
    as_of_date date not null,
    model_name varchar not null,
    model_version varchar not null,
    model_run_id varchar not null,
    horizon_days integer not null,
    matures_on date not null,
    matured boolean not null,
    persons_scored bigint not null,
    reference_as_of date not null,
    inactive_30d_share double not null,
    score_psi double not null,
    max_feature_psi double not null,
    most_drifted_feature varchar not null,
    training_base_rate double,
    test_roc_auc double,
    persons bigint,
    base_rate double,
    roc_auc double,
    pr_auc double,
    lift_at_10pct double,
    brier double,
    ece double,
    breaches json not null,
    measured_at timestamptz not null,
    primary key (as_of_date, model_name, model_version)
);
