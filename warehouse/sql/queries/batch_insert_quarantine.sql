-- A batch's rejected rows into raw.quarantine_rows: where each came from and why, never its
-- values. A checked row's line number is its ordinal moved past the header and the lines the
-- reader rejected before it (ingest_line_offsets); rejected lines come from
-- ingest_rejected_lines, already line numbers.
-- Bound: $file_sha256s, $file_names and $header_lines (by file position), $quarantined_at.
insert into raw.quarantine_rows
with rejected as (
    select
        checked.file_position,
        checked.source_ordinal + $header_lines[checked.file_position]
            + coalesce(offsets.rejected_before, 0) as source_row_number,
        checked.reason,
        checked.reason_field,
        checked.event_id
    from ingest_scratch.ingest_checked as checked
    asof left join ingest_line_offsets as offsets
        on checked.file_position = offsets.file_position
        and checked.source_ordinal > offsets.good_rows_before
    where checked.reason is not null
),

unsplittable as (
    select
        file_position,
        line as source_row_number,
        'malformed_row' as reason,
        cast(null as varchar) as reason_field,
        cast(null as varchar) as event_id
    from ingest_scratch.ingest_rejected_lines
),

final as (
    select
        $file_sha256s[file_position] as file_sha256,
        $file_names[file_position] as file_name,
        source_row_number,
        reason,
        reason_field as field,
        event_id,
        $quarantined_at as quarantined_at
    from (select * from rejected union all select * from unsplittable)
)

select * from final
