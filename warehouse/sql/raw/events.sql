-- grain: one row per engagement or intent event
-- key: event_id
-- occurred_at is stored in UTC. Personal-looking values never reach this table.
-- No primary-key index: ingestion dedups with an anti-join and tests check the key. An index
-- on millions of event ids would cost memory on every open and slow each insert.
-- Schema v5 drops source_row_number (migrations/0005_events_without_row_number.sql).
create table raw.events (
    event_id varchar not null,
    occurred_at timestamp not null,
    person_id varchar not null,
    id_type varchar not null,
    event_type varchar not null,
    content_id varchar,
    campaign_id varchar,
    channel varchar,
    watch_seconds double,
    region varchar,
    device varchar,
    consent boolean not null,
    municipality varchar,
    file_sha256 varchar not null,
    source_row_number bigint not null
);
