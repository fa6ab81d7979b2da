-- Identifiers an opt-out took out of earlier export files (erased_platform_ids: segment_name,
-- destination, platform_id), to be in the next remove file; a rerun adds nothing twice.
insert or ignore into marts.pending_removals
select distinct segment_name, destination, platform_id, $optout_run_id, $recorded_at
from erased_platform_ids;
