-- One JSON-lines file of a batch, as check_events.sql reads it: DuckDB's JSON reader parses each
-- line once into a map of its keys to their values as text (numbers, booleans and nested values
-- as their JSON text, null as NULL). A line that is not a JSON object gives a NULL map and is
-- quarantined as malformed, so row numbers are line numbers, except that the reader passes over
-- blank lines: ingestion compares each file's rows with its lines and reads a file with a blank
-- line through read_batch_jsonl_lines.sql instead, as it does a file whose reader fails (a line
-- that gives a key twice fails the whole statement).
-- Bound: $path (as reader_path gives it), $file_position, $contract_fields.
with records as (
    select
        ordinality as source_ordinal,
        record
    from read_json(
        $path,
        format = 'newline_delimited',
        records = false,
        columns = {'record': 'MAP(VARCHAR, VARCHAR)'},
        ignore_errors = true
    ) with ordinality
),

final as (
    select
        cast($file_position as integer) as file_position,
        source_ordinal,
        record is null as is_malformed,
        -- a map holds each key once
        false as has_repeated_fields,
        coalesce(map_keys(record), []) as field_names,
        coalesce(map_values(record), []) as field_values,
        -- the keys outside the contract, only on a line that has some
        -- (a filter that comes out empty, not list_has_all: the same test, measured 4x cheaper)
        case when len(list_filter(
                map_keys(record), name -> not list_contains($contract_fields, name))) > 0
            then array_to_string(list_filter(
                map_keys(record), name -> not list_contains($contract_fields, name)), chr(31))
        end as other_field_names,
        record['event_id'] as event_id,
        record['occurred_at'] as occurred_at,
        record['person_id'] as person_id,
        record['id_type'] as id_type,
        record['event_type'] as event_type,
        record['content_id'] as content_id,
        record['campaign_id'] as campaign_id,
        record['channel'] as channel,
        record['watch_seconds'] as watch_seconds,
        record['region'] as region,
        record['device'] as device,
        record['consent'] as consent,
        record['municipality'] as municipality
    from records
)

select * from final
