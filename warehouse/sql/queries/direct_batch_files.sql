-- After a direct load, before anything is removed: each file's rows as read, to compare with
-- its lines (a reader that skipped a line would hide it from the quarantine).
-- Bound: $file_sha256s (the batch's files).
select
    file_sha256,
    count(*) as rows_read
from raw.events
where list_contains($file_sha256s, file_sha256)
group by file_sha256
