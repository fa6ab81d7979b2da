-- CSV read for the direct load (see direct_events.sql): the files of one batch that share one
-- header, in one reader, columns named by that header, every value as text. Rows are not
-- numbered, so DuckDB reads the files on every thread. Any row the reader cannot split raises an
-- error, which sends the batch back to be loaded file by file.
-- Bound: $paths (as reader_path gives them), $file_paths (the files' own paths) and
-- $file_sha256s, all in the same order, $columns (header name -> VARCHAR, in header
-- order; the header holds the contract's fields and nothing else).
with records as (
    select *
    from read_csv(
        $paths,
        columns = $columns,
        filename = true,
        -- DuckDB splits a file into buffers of this size to read it on several threads; its
        -- default (32 MB) would read most event files on one. A longer line fails the read and
        -- the file is line-checked.
        buffer_size = 2097152,
        -- the contract's CSV dialect, as read_csv.sql reads it
        header = false,
        skip = 1,
        auto_detect = false,
        delim = ',',
        quote = '"',
        escape = '"'
    )
),

final as (
    -- the contract's fields by name (direct_events.sql reads them so), and the file's digest
    select
        * exclude (filename),
        $file_sha256s[list_position($file_paths, filename)] as file_sha256
    from records
)

select * from final
