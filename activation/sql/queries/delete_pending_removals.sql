-- The identifiers a published remove file now holds (consumed_removals: segment_name,
-- destination, platform_id), so nothing is kept once the platform can be told.
delete from marts.pending_removals
using consumed_removals
where pending_removals.segment_name = consumed_removals.segment_name
    and pending_removals.destination = consumed_removals.destination
    and pending_removals.platform_id = consumed_removals.platform_id;
