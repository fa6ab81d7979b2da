-- JSON lines read for the direct load (see direct_events.sql): DuckDB's own parallel reader,
-- each contract field as text (the same text json_extract_string gives the line-checked path).
-- It ignores keys outside the contract and skips blank lines, so ingestion runs
-- direct_check_jsonl.sql first and compares row and line counts after.
-- Bound: $path, $columns (contract field -> VARCHAR).
with records as (
    select *
    from read_json($path, columns = $columns, format = 'newline_delimited')
),

final as (
    select
        concat_ws(chr(10), event_id, occurred_at, person_id, id_type, event_type, content_id,
                  campaign_id, channel, watch_seconds, region, device, consent, municipality)
            as joined_values,
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
