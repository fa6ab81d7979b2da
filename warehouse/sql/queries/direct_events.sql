-- The direct load: files expected to be clean go from their reader straight into raw.events,
-- read once and written once. Every value must already be exactly what the line-checked path
-- (validate_events.sql) would store: no personal-looking value, no value that trimming or
-- emptiness would change, and every contract rule met. The first row that falls short raises an
-- error; ingestion then rolls the batch back and loads its files one by one, a file with a bad
-- row through the line-checked path, which quarantines each bad row with its reason. So this
-- file only has to be stricter than validate_events.sql, never looser
-- (tests/data/test_ingest_direct.py compares the two).
-- Rows are not numbered (numbering would keep DuckDB on one thread), so the check is one
-- boolean per row and the error names no row.
-- Input: the view direct_source (direct_read_{csv,jsonl,parquet}.sql): the 13 contract fields
-- as untrimmed text, and each row's file_sha256.
-- Bound: $loaded_at, $earliest_occurred_at, $max_future_hours, $max_event_id_length,
-- $max_watch_seconds, $id_types, $event_types, $engagement_types, $devices.
with source as (
    select * from direct_source
),

typed as (
    select
        *,
        -- Values of free text, and the two parsed from text, checked one by one (cheaper than
        -- joining them first). id_type, event_type, device and consent need no check: they must
        -- be one of the contract's values, none of which is personal or padded.
        coalesce(
            norrut_may_hold_pii_or_untrimmed(event_id)
            or norrut_may_hold_pii_or_untrimmed(occurred_at)
            or norrut_may_hold_pii_or_untrimmed(person_id)
            or norrut_may_hold_pii_or_untrimmed(content_id)
            or norrut_may_hold_pii_or_untrimmed(campaign_id)
            or norrut_may_hold_pii_or_untrimmed(channel)
            or norrut_may_hold_pii_or_untrimmed(watch_seconds)
            or norrut_may_hold_pii_or_untrimmed(region)
            or norrut_may_hold_pii_or_untrimmed(municipality),
            -- NULL when some values are NULL and none matched
            false
        ) as needs_line_check,
        norrut_occurred_at(occurred_at) as occurred_at_utc,
        try_cast(watch_seconds as double) as watch_seconds_number,
        norrut_consent(consent) as consent_flag
    from source
),

final as (
    select
        event_id,
        occurred_at_utc as occurred_at,
        -- canonicalised here rather than sent to the line-checked path: an upper-case MAID is
        -- valid, and common
        norrut_canonical_person_id(person_id) as person_id,
        id_type,
        event_type,
        content_id,
        campaign_id,
        lower(channel) as channel,
        watch_seconds_number as watch_seconds,
        region,
        device,
        consent_flag as consent,
        case
            when not needs_line_check
                and length(event_id) <= $max_event_id_length
                and occurred_at_utc >= $earliest_occurred_at
                and occurred_at_utc <= $loaded_at + to_hours($max_future_hours)
                and norrut_is_person_id(person_id)
                and list_contains($id_types, id_type)
                and list_contains($event_types, event_type)
                and (content_id is not null or not list_contains($engagement_types, event_type))
                -- between is false for NaN and infinities too
                and (watch_seconds is null
                     or watch_seconds_number between 0 and $max_watch_seconds)
                and (device is null or list_contains($devices, device))
                and consent_flag is not null
                then municipality
            -- the message quotes no value: a value could be personal
            else error('a row needs the line-checked path')
        end as municipality,
        file_sha256
    from typed
)

select * from final
