-- Parquet read for the direct load (see direct_events.sql): every column cast to text, as the
-- line-checked path reads it, so both paths see the same values. Row numbers are the file's own
-- (1-based). Bound: $path.
with records as (
    select
        cast(columns(* exclude (file_row_number)) as varchar),
        file_row_number
    from read_parquet($path, file_row_number = true)
),

final as (
    select
        file_row_number + 1 as source_ordinal,
        -- every value of the row, unknown columns included, for the personal-data check
        concat_ws(chr(10), *columns(* exclude (file_row_number))) as joined_values,
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
        municipality
    from records
)

select * from final
