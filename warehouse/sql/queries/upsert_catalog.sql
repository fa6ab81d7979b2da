-- Valid catalog rows into raw.content_catalog; a content_id listed twice keeps its last row.
-- Bound: $loaded_at.
insert or replace into raw.content_catalog
with valid as (
    select * from catalog_checked where reason is null
),

last_per_content as (
    select *
    from valid
    qualify row_number() over (partition by content_id order by source_row_number desc) = 1
),

final as (
    select
        content_id,
        kind,
        title,
        duration_seconds,
        themes,
        municipality,
        published_at,
        $loaded_at as loaded_at
    from last_per_content
)

select * from final
