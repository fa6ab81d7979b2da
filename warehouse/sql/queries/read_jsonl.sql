-- Newline-delimited JSON read as one text column per line, so a malformed line is quarantined
-- instead of failing its file. The delimiter is a control character that valid JSON never
-- holds raw; a line containing one is rejected by the reader and quarantined as malformed.
-- Bound: $path, $delimiter.
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
        escape = '',
        store_rejects = true,
        rejects_table = 'ingest_reject_errors',
        rejects_scan = 'ingest_reject_scans'
    ) with ordinality
),

parsed as (
    select
        source_ordinal,
        line,
        case when json_valid(line) then json_type(line) = 'OBJECT' else false end as is_object
    from lines
    -- blank lines are not rows, but they still count in the line numbers
    where trim(coalesce(line, '')) <> ''
),

final as (
    select
        source_ordinal,
        not is_object as is_malformed,
        case when is_object then json_keys(line) else [] end as field_names,
        case when is_object then json_extract_string(line, '$.*') else [] end as field_values
    from parsed
)

select * from final
