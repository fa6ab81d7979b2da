-- One row of warehouse totals for `norrut status`, but for the events' (status_events.sql, read
-- from each shard of a sharded warehouse); see docs/status.md for each column.
with files as (
    select
        count(*) filter (where status = 'loaded') as files_loaded,
        count(*) filter (where status = 'quarantined') as files_quarantined,
        coalesce(sum(rows_read), 0) as rows_read,
        coalesce(sum(rows_loaded), 0) as rows_loaded,
        coalesce(sum(duplicates_skipped), 0) as duplicates_skipped,
        coalesce(sum(suppressed_dropped), 0) as suppressed_dropped,
        coalesce(sum(unknown_column_count), 0) as unknown_column_count,
        max(ingested_at) as last_ingest_at
    from raw.ingest_files
),

quarantine as (
    select count(*) as rows_quarantined_total from raw.quarantine_rows
),

suppressed as (
    select count(*) as persons_suppressed from raw.suppressed_persons
),

catalog as (
    select count(*) as catalog_items from raw.content_catalog
),

final as (
    select
        files.files_loaded,
        files.files_quarantined,
        files.rows_read,
        files.rows_loaded,
        quarantine.rows_quarantined_total,
        files.duplicates_skipped,
        files.suppressed_dropped,
        files.unknown_column_count,
        suppressed.persons_suppressed,
        catalog.catalog_items,
        files.last_ingest_at
    from files, quarantine, suppressed, catalog
)

select * from final
