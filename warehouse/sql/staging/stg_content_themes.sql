-- grain: one row per content item and theme tag
-- key: (content_id, theme)
create or replace view staging.stg_content_themes as
with catalog as (
    select * from raw.content_catalog
),

final as (
    select distinct
        content_id,
        kind,
        duration_seconds,
        municipality,
        lower(trim(unnest(themes))) as theme
    from catalog
)

select * from final;
