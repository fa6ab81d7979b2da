-- Columns of the staged file that the contract does not name, in order of first appearance.
-- Input: ingest_checked.field_name_set (set only on rows with such columns). Bound: $contract_fields.
with name_sets as (
    select field_name_set, min(source_ordinal) as first_ordinal
    from ingest_checked
    where field_name_set is not null
    group by field_name_set
),

names as (
    select
        unnest(string_split(field_name_set, chr(31))) as name,
        generate_subscripts(string_split(field_name_set, chr(31)), 1) as position,
        first_ordinal
    from name_sets
),

final as (
    select name
    from names
    where not list_contains($contract_fields, name)
    group by name
    order by min([first_ordinal, position])
)

select * from final
