-- A batch's valid rows into raw.events, less the rows ingest_skipped names (batch_skipped_events
-- .sql: suppressed persons, ids stored already, later copies within the batch).
-- Bound: $file_sha256s (by file position).
insert into raw.events
with new_events as (
    select checked.*
    from ingest_scratch.ingest_checked as checked
    anti join ingest_skipped as skipped
        on skipped.file_position = checked.file_position
        and skipped.source_ordinal = checked.source_ordinal
    where checked.reason is null
),

final as (
    select
        event_id,
        occurred_at,
        person_id,
        id_type,
        event_type,
        content_id,
        campaign_id,
        channel,
        watch_seconds,
        region,
        device,
        consent,
        municipality,
        $file_sha256s[file_position] as file_sha256
    from new_events
)

select * from final
