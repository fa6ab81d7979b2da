-- Parquet read with every column cast to text, so typed and text columns validate alike.
-- Row numbers are the file's own (1-based). Bound: $path, $field_names.
with records as (
    select
        cast(columns(* exclude (file_row_number)) as varchar),
        file_row_number
    from read_parquet($path, file_row_number = true)
),

final as (
    select
        file_row_number + 1 as source_ordinal,
        false as is_malformed,
        cast($field_names as varchar[]) as field_names,
        list_value(*columns(* exclude (file_row_number))) as field_values
    from records
)

select * from final
