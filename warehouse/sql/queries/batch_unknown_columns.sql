-- Columns of each file of a batch that the contract does not name, in order of first
-- appearance in the file. Input: ingest_checked.field_name_set (set only on rows with such
-- columns). Bound: $contract_fields.
with name_sets as (
    select file_position, field_name_set, min(source_ordinal) as first_ordinal
    from ingest_scratch.ingest_checked
    where field_name_set is not null
    group by all
),

names as (
    select
        file_position,
        unnest(string_split(field_name_set, chr(31))) as name,
        generate_subscripts(string_split(field_name_set, chr(31)), 1) as position,
        first_ordinal
    from name_sets
),

final as (
    select file_position, name
    from names
    where not list_contains($contract_fields, name)
    group by file_position, name
    order by file_position, min([first_ordinal, position])
)

select * from final
