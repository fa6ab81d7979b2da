-- JSON lines read for the direct load (see direct_events.sql): DuckDB's parallel reader parses
-- each line once, into a map of its keys to their values as text (the same text
-- json_extract_string gives the line-checked path). A line that is not an object, or gives a key
-- twice, makes the reader raise an error; a key outside the contract raises one here (the
-- line-checked path lists such columns and checks their values). Either error sends the file to
-- the line-checked path. The reader skips blank lines, so ingestion compares row and line counts
-- after. Bound: $path, $contract_fields.
with records as (
    select record
    from read_json(
        $path,
        format = 'newline_delimited',
        records = false,
        columns = {'record': 'MAP(VARCHAR, VARCHAR)'}
    )
),

final as (
    select
        case
            when len(list_filter(map_keys(record),
                                 name -> not list_contains($contract_fields, name))) = 0
                then concat_ws(chr(10), record['event_id'], record['occurred_at'],
                               record['person_id'], record['id_type'], record['event_type'],
                               record['content_id'], record['campaign_id'], record['channel'],
                               record['watch_seconds'], record['region'], record['device'],
                               record['consent'], record['municipality'])
            else error('a line has a key outside the contract')
        end as joined_values,
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
