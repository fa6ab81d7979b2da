-- grain: one row per film or image
-- key: content_id
create table raw.content_catalog (
    content_id varchar primary key,
    kind varchar not null check (kind in ('film', 'image')),
    title varchar,
    duration_seconds double check (duration_seconds > 0),
    themes varchar[] not null,
    municipality varchar,
    published_at timestamp,
    loaded_at timestamptz not null
);
