-- One file's rejected rows into raw.quarantine_rows: where each came from and why, never its
-- values. Rows the reader could not split come from ingest_rejected_lines (already line numbers).
-- Bound: $file_sha256, $file_name, $header_lines, $quarantined_at.
insert into raw.quarantine_rows
with rejected as (
    select
        source_ordinal + $header_lines as source_row_number,
        reason,
        reason_field,
        event_id
    from ingest_checked
    where reason is not null
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
    from (select * from rejected union all select * from unsplittable)
)

select * from final
