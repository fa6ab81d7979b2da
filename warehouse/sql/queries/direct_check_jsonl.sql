-- Before a direct load of JSON lines: how many lines are objects, and how many of those are not
-- objects of contract keys each given once. A key outside the contract (which the line-checked
-- path lists and checks for personal data) or given twice (whose second value the reader would
-- not show) leaves the file to the line-checked path. Bound: $path, $contract_fields.
with objects as (
    select json_type(json) = 'OBJECT' as is_object, json_keys(json) as field_names
    from read_ndjson_objects($path)
),

final as (
    select
        count(*) as objects,
        -- as many contract fields present as keys: no unknown key, none twice
        count(*) filter (where not (
            is_object
            and len(list_filter($contract_fields, name -> list_contains(field_names, name)))
                = len(field_names)
        )) as irregular_objects
    from objects
)

select * from final
