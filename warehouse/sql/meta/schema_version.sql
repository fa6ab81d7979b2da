-- grain: one row per applied schema migration
-- key: version
create table if not exists meta.schema_version (
    version integer primary key,
    description varchar not null,
    applied_at timestamptz not null default current_timestamp
);
