-- grain: one row per person of this warehouse file scored before the window (creative_eligible,
-- registered by insight/exposures.py) and item (content, theme or campaign) shown in the window
-- key: (person_id, dimension, item_id)
-- Who was shown what in [$exposure_start, $outcome_start), whether they engaged with it, and
-- their label after. Shown is any impression or engagement event naming the item; engaged is an
-- event of $engagement_types. A theme is shown by any content item carrying it. Run where the
-- persons' events are (the file, or each shard); creative_exposures.sql adds their scores.
with window_events as (
    select
        person_id,
        content_id,
        campaign_id,
        list_contains($engagement_types::varchar[], event_type) as is_engagement
    from staging.stg_events
    where occurred_at >= $exposure_start::date
      and occurred_at < $outcome_start::date
      and (event_type = 'impression' or list_contains($engagement_types::varchar[], event_type))
),

content_themes as (
    select distinct content_id, theme from staging.stg_content_themes
),

by_item as (
    select person_id, 'content' as dimension, content_id as item_id, is_engagement
    from window_events
    where content_id is not null
    union all
    select window_events.person_id, 'theme', content_themes.theme, window_events.is_engagement
    from window_events
    inner join content_themes on content_themes.content_id = window_events.content_id
    union all
    select person_id, 'campaign', campaign_id, is_engagement
    from window_events
    where campaign_id is not null
),

per_person as (
    select person_id, dimension, item_id, bool_or(is_engagement) as is_engaged
    from by_item
    group by person_id, dimension, item_id
),

final as (
    select
        per_person.person_id,
        per_person.dimension,
        per_person.item_id,
        per_person.is_engaged,
        labels.label
    from per_person
    semi join creative_eligible as eligible on eligible.person_id = per_person.person_id
    inner join features.person_label as labels
        on labels.person_id = per_person.person_id and labels.as_of_date = $outcome_start::date
)

select * from final order by person_id, dimension, item_id;
