-- Parquet read for the direct load (see direct_events.sql): every column cast to text, as the
-- line-checked path reads it, so both paths see the same values. Bound: $path.
with records as (
    select cast(columns(*) as varchar)
    from read_parquet($path)
),

final as (
    select
        -- every value of the row, unknown columns included, for the personal-data check
        concat_ws(chr(10), *columns(*)) as joined_values,
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
