-- grain: one row per scored person and item (content, theme or campaign) shown in the window
-- key: (person_id, dimension, item_id)
-- creative_person_exposures.sql's rows of every place (creative_shown, registered by
-- insight/creatives.py), each with the person's score before the window (creative_scores).
create or replace temp table creative_exposures as
with shown as (
    select * from creative_shown
),

final as (
    select
        shown.person_id,
        shown.dimension,
        shown.item_id,
        shown.is_engaged,
        scores.score,
        shown.label
    from shown
    inner join creative_scores as scores on scores.person_id = shown.person_id
)

select * from final order by person_id, dimension, item_id;
