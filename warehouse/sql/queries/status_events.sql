-- One row of event totals for `norrut status`: of the warehouse, or of one shard (a person's
-- events are all in one shard, so the shards' person counts add up exactly).
select
    count(*) as events,
    count(distinct person_id) as persons,
    min(occurred_at) as first_event_at,
    max(occurred_at) as last_event_at
from raw.events
