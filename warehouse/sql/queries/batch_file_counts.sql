-- Each file of a batch: rows checked valid, of them dropped for a suppressed person and skipped
-- as duplicates, and rows quarantined by the check (rejected lines are counted apart).
-- Input: ingest_checked, ingest_skipped.
with checked as (
    select
        file_position,
        count(*) filter (where reason is null) as valid_rows
    from ingest_scratch.ingest_checked
    group by file_position
),

skipped as (
    select
        file_position,
        count(*) filter (where is_suppressed) as suppressed_rows,
        count(*) filter (where not is_suppressed) as duplicate_rows
    from ingest_skipped
    group by file_position
),

final as (
    select
        checked.file_position,
        checked.valid_rows,
        coalesce(skipped.suppressed_rows, 0) as suppressed_rows,
        coalesce(skipped.duplicate_rows, 0) as duplicate_rows
    from checked
    left join skipped using (file_position)
)

select * from final
