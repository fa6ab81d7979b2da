-- grain: one row per opted-out person
-- key: person_key
-- person_key is sha256(person_id): enough to drop that person's later events at load, and
-- nothing more about them is kept (contract §3).
create table raw.suppressed_persons (
    person_key varchar primary key,
    kind varchar not null check (kind in ('erasure', 'objection')),
    requested_at timestamp not null,
    applied_at timestamptz not null
);
