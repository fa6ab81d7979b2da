-- One CSV file of a batch: each row's values, every column as text under positional names (c1,
-- c2, ...), so a header can name its columns anything (fields_by_position.sql then names the
-- contract's fields). Rows the reader cannot split (too many or too few fields, broken quoting)
-- go to the rejects table and are quarantined as malformed; the line numbers of the rows after
-- one are corrected then (batch_line_offsets.sql).
-- Bound: $path (as reader_path gives it), $columns.
with records as (
    select *
    from read_csv(
        $path,
        columns = $columns,
        -- DuckDB's default buffer (32 MB), not a smaller one that would read a file on more
        -- threads: a line longer than a buffer loses the rows after it without a reject (the
        -- files of a batch are read side by side anyway).
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
        list_value(*columns(* exclude (ordinality))) as field_values
    from records
)

select * from final
