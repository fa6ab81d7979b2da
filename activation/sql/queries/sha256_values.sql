-- grain: one row per value of the registered relation `ids`, in its order
-- key: none (positional; DuckDB keeps insertion order for a plain projection)
-- Lower-case hex SHA-256 of each UTF-8 value.
with final as (
    select sha256(value) as digest from ids
)

select * from final;
