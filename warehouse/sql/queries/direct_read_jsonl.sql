-- JSON lines read for the direct load (see direct_events.sql): one parse of each line into the
-- contract's fields as text (the same text json_extract_string gives the line-checked path),
-- one listing of its keys. A line that is not an object of contract keys, each once, raises an
-- error, which sends the file to the line-checked path (which quarantines or counts them).
-- Bound: $path, $delimiter, $contract_
with lines as (
    select
        ordinality as source_ordinal,
        line
    from read_csv(
        $path,
        columns = {'line': 'VARCHAR'},
        header = false,
        auto_detect = false,
        delim = $delimiter,
        quote = '',
        escape = ''
    ) with ordinality
),

parsed as (
    select
        source_ordinal,
        json_keys(line) as field_names,
        -- unnest spreads the struct into one column per field
        unnest(from_json(line, '{"event_id": "VARCHAR", "occurred_at": "VARCHAR", "person_id": "VARCHAR",
            "id_type": "VARCHAR", "event_type": "VARCHAR", "content_id": "VARCHAR",
            "campaign_id": "VARCHAR", "channel": "VARCHAR", "watch_seconds": "VARCHAR",
            "region": "VARCHAR", "device": "VARCHAR", "consent": "VARCHAR",
            "municipality": "VARCHAR"}'))
    from lines
),

final as (
    select
        case
            -- as many contract fields present as keys: no unknown key, none twice
            when len(list_filter($contract_fields, name -> list_contains(field_names, name)))
                = len(field_names)
                then source_ordinal
            else error('line ' || source_ordinal || ' is not an object of contract fields')
        end as source_ordinal,
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
    from parsed
)

select * from final
