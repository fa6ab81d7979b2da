-- A small CSV (catalog, opt-outs) as one JSON object per data row, values as text.
-- Bound: $path.
with records as (
    select * from read_csv($path, all_varchar = true, header = true) with ordinality
),

final as (
    select
        records.ordinality as source_row_number,
        to_json(records) as item
    from records
)

select * from final
