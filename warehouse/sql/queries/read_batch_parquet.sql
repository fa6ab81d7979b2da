-- One Parquet file of a batch: each row's values, every column cast to text so typed and text
-- columns check alike, in the file's column order (fields_by_position.sql then names the
-- contract's fields). Row numbers are the file's own (1-based). Bound: $path (as reader_path
-- gives it).
with records as (
    select
        cast(columns(* exclude (file_row_number)) as varchar),
        file_row_number
    from read_parquet($path, file_row_number = true)
),

final as (
    select
        file_row_number + 1 as source_ordinal,
        list_value(*columns(* exclude (file_row_number))) as field_values
    from records
)

select * from final
