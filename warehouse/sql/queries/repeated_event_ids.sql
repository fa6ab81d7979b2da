-- How many event_ids a file just loaded directly holds more than once. Bound: $file_sha256.
select count(*) as repeated_event_ids
from (
    select event_id
    from raw.events
    where file_sha256 = $file_sha256
    group by event_id
    having count(*) > 1
)
