-- grain: one row per person scored by one scoring run whose events are in this warehouse file
-- key: person_id
-- The run's scores and deciles (ranked over all its persons, in the main warehouse), where the
-- monitor measures the persons: filled from marts.scores_ranked on one machine, from the
-- Parquet of the shard's persons on a shard (monitoring/persons.py).
create or replace temp table monitor_scores (
    person_id varchar not null,
    score double not null,
    decile bigint not null
);
