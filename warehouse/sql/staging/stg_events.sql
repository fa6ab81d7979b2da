-- grain: one row per event
-- key: event_id
create or replace view staging.stg_events as
with events as (
    select * from raw.events
),

final as (
    select
        event_id,
        occurred_at,
        cast(occurred_at as date) as occurred_on,
        person_id,
        id_type,
        event_type,
        event_type in ('job_click', 'guide_download', 'inquiry', 'signup', 'fair_registration')
            as is_intent,
        content_id,
        campaign_id,
        channel,
        -- to the microsecond, as a decimal: a sum of it is exact, so a person's features are
        -- the same whatever order the rows are added in (a machine's threads, or the shards)
        cast(watch_seconds as decimal(18, 6)) as watch_seconds,
        region,
        coalesce(device, 'unknown') as device,
        consent,
        municipality
    from events
)

select * from final;
