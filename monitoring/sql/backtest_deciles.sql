-- grain: one row per scoring run (as-of date, model and version) and score decile
-- key: (as_of_date, model_name, model_version, decile)
-- What the persons of a matured scoring run did in the label horizon after its as-of date,
-- per decile of marts.scores_ranked (decile 1 the top tenth): the mean predicted score beside
-- the realised intent rate. Aggregates only; remade from the scores on every monitor run, so a
-- person who opted out since has left them.
create table marts.backtest_deciles (
    as_of_date date not null,
    model_name varchar not null,
    model_version varchar not null,
    decile integer not null,
    horizon_days integer not null,
    persons bigint not null,
    persons_with_intent bigint not null,
    mean_score double not null,
    realised_rate double not null,
    measured_at timestamptz not null,
    primary key (as_of_date, model_name, model_version, decile)
);
