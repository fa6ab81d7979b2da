-- Newline-delimited JSON read as one text column per line, so a malformed line is quarantined
-- instead of failing its file. The delimiter is a control character that valid JSON never
-- holds raw; a line containing one is rejected by the reader and quarantined as malformed.
-- Each line is parsed twice (keys, values as text); try() turns a parse error into null.
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

-- The usual line starts with its "{": testing that first spares copying every line through
-- trim/ltrim (measured: the blank-line filter alone cost a quarter of reading the file).
objects as (
    select
        source_ordinal,
        starts_with(line, '{') or starts_with(ltrim(line), '{') as is_object_text,
        case when starts_with(line, '{') or starts_with(ltrim(line), '{')
            then try(json_keys(line)) end as field_names,
        case when starts_with(line, '{') or starts_with(ltrim(line), '{')
            then try(json_extract_string(line, '$.*')) end as field_values
    from lines
    -- blank lines are not rows, but they still count in the line numbers
    where starts_with(line, '{') or trim(coalesce(line, '')) <> ''
),

final as (
    select
        source_ordinal,
        field_names is null or field_values is null as is_malformed,
        coalesce(field_names, []) as field_names,
        coalesce(field_values, []) as field_values
    from objects
)

select * from final
