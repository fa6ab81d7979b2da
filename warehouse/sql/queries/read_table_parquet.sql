-- A Parquet file as one JSON object per row (lists stay JSON arrays). Bound: $path.
with records as (
    select * from read_parquet($path, file_row_number = true)
),

final as (
    select
        records.file_row_number + 1 as source_row_number,
        to_json(records) as item
    from records
)

select * from final
