-- Run only when the reader rejected lines: the reader numbers the rows it kept 1, 2, ...,
-- so each kept row's ordinal is moved past the rejected lines before it. Then, for every
-- format, line = ordinal + header lines. Input: ingest_line_offsets (line_offsets.sql).
update ingest_checked
set source_ordinal = ingest_checked.source_ordinal + shifted.rejected_before
from (
    select checked.source_ordinal, offsets.rejected_before
    from ingest_checked as checked
    asof inner join ingest_line_offsets as offsets
        on checked.source_ordinal > offsets.good_rows_before
) as shifted
where ingest_checked.source_ordinal = shifted.source_ordinal
