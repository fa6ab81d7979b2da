-- CSV read with every column as text under positional names (c1, c2, ...), so a header can
-- name its columns anything; the header's own names arrive bound as $field_names. Rows the
-- reader cannot split (too many or too few fields, broken quoting) go to the rejects table
-- and are quarantined as malformed. Bound: $path, $columns, $field_names.
with records as (
    select *
    from read_csv(
        $path,
        columns = $columns,
        header = false,
        skip = 1,
        auto_detect = false,
        delim = ',',
        quote = '"',
        escape = '"',
        store_rejects = true,
        rejects_table = 'ingest_reject_errors',
        rejects_scan = 'ingest_reject_scans'
    ) with ordinality
),

final as (
    select
        ordinality as source_ordinal,
        false as is_malformed,
        cast($field_names as varchar[]) as field_names,
        list_value(*columns(* exclude (ordinality))) as field_values
    from records
)

select * from final
