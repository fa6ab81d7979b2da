-- JSON lines read for the direct load (see direct_events.sql): the files of one batch in one
-- reader, so DuckDB reads them side by side. Each line is parsed once, into a map of its keys to
-- their values as text (the same text json_extract_string gives the line-checked path). A line
-- that is not an object, or gives a key twice, makes the reader raise an error; a key outside
-- the contract raises one here (the line-checked path lists such columns and checks their
-- values). Either error sends the batch back to be loaded file by file. The reader skips blank
-- lines, so ingestion compares each file's rows with its lines after.
-- Bound: $paths (as reader_path gives them), $file_paths (the files' own paths) and
-- $file_sha256s, all in the same order, $contract_fields.
with records as (
    select record, filename
    from read_json(
        $paths,
        format = 'newline_delimited',
        records = false,
        columns = {'record': 'MAP(VARCHAR, VARCHAR)'},
        filename = true
    )
),

final as (
    select
        case
            when len(list_filter(map_keys(record),
                                 name -> not list_contains($contract_fields, name))) = 0
                then record['event_id']
            else error('a line has a key outside the contract')
        end as event_id,
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
        record['municipality'] as municipality,
        $file_sha256s[list_position($file_paths, filename)] as file_sha256
    from records
)

select * from final
