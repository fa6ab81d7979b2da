-- grain: exactly one row: the UTC day of the newest stored event (null when there is none)
-- key: none
with final as (
    select max(occurred_at)::date as last_event_on from raw.events
)

select * from final;
