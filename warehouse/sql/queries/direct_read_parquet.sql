-- Parquet read for the direct load (see direct_events.sql): the files of one batch in one
-- reader, columns matched by name, every value cast to text as the line-checked path reads it,
-- so both paths see the same values. Each file holds the contract's fields and nothing else.
-- Bound: $paths (as reader_path gives them), $file_paths (the files' own paths) and
-- $file_sha256s, all in the same order.
with records as (
    select
        cast(columns(* exclude (filename)) as varchar),
        filename
    from read_parquet($paths, union_by_name = true, filename = true)
),

final as (
    -- the contract's fields by name (direct_events.sql reads them so), and the file's digest
    select
        * exclude (filename),
        $file_sha256s[list_position($file_paths, filename)] as file_sha256
    from records
)

select * from final
