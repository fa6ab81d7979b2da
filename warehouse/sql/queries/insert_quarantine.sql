-- One file's rejected rows into raw.quarantine_rows: where each came from and why, never its
-- values. Rows the reader could not split come from ingest_rejected_lines.
-- Bound: $file_sha256, $file_name, $header_lines, $quarantined_at.
insert into raw.quarantine_rows
with rejected as (
    select * from ingest_checked where reason is not null
),

numbered as (
    select
        rejected.source_ordinal + $header_lines + coalesce(offsets.rejected_before, 0)
            as source_row_number,
        rejected.reason,
        rejected.reason_field,
        rejected.event_id
    from rejected
    asof left join ingest_line_offsets as offsets
        on rejected.source_ordinal > offsets.good_rows_before
),

unsplittable as (
    select
        line as source_row_number,
        'malformed_row' as reason,
        cast(null as varchar) as reason_field,
        cast(null as varchar) as event_id
    from ingest_rejected_lines
),

final as (
    select
        $file_sha256 as file_sha256,
        $file_name as file_name,
        source_row_number,
        reason,
        reason_field as field,
        event_id,
        $quarantined_at as quarantined_at
    from (select * from numbered union all select * from unsplittable)
)

select * from final
