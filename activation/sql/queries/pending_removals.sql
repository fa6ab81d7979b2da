-- grain: one row per platform identifier awaiting its removal upload
-- key: (segment_name, destination, platform_id)
select segment_name, destination, platform_id
from marts.pending_removals
order by segment_name, destination, platform_id;
