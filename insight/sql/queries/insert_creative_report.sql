-- grain: one row per dimension and item of the report (creative_estimated, from
-- creative_estimates.sql), with the catalog's title and kind for content items
-- key: (as_of_date, dimension, item_id)
insert into marts.creative_report by name
select
    $as_of::date as as_of_date,
    estimates.*,
    case when estimates.dimension = 'content' then catalog.title end as title,
    case when estimates.dimension = 'content' then catalog.kind end as kind
from creative_estimated as estimates
left join raw.content_catalog as catalog on catalog.content_id = estimates.item_id;
