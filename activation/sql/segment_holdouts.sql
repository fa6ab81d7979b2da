-- grain: one row per segment, as-of date and held-out person
-- key: (segment_name, as_of_date, person_id)
-- Persons deliberately left out of every file of a segment, so a campaign's lift can be
-- measured against them later. The draw is a hash of (segment, as_of, person), so a rerun
-- for the same date holds out the same persons.
create table marts.segment_holdouts (
    segment_name varchar not null,
    as_of_date date not null,
    person_id varchar not null,
    id_type varchar not null,
    score double not null,
    model_name varchar not null,
    model_version varchar not null,
    export_version integer not null,
    recorded_at timestamptz not null,
    primary key (segment_name, as_of_date, person_id)
);
