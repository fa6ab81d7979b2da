-- A JSON array or JSON-lines file as one JSON object per row. Bound: $path.
with records as (
    select json, ordinality from read_json_objects($path, format = 'auto') with ordinality
),

final as (
    select
        ordinality as source_row_number,
        json as item
    from records
)

select * from final
