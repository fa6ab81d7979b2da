-- grain: one row per opt-out file applied
-- key: run_id
-- rows_removed is a JSON object: person table -> rows deleted. No person id, raw or hashed.
create table audit.optout_runs (
    run_id varchar primary key,
    source_file_name varchar not null,
    applied_at timestamptz not null,
    persons_requested bigint not null,
    erasures bigint not null,
    objections bigint not null,
    rows_removed json not null,
    rows_rejected bigint not null
);
