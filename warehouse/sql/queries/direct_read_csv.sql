-- CSV read for the direct load (see direct_events.sql): columns named by the file's own header,
-- every value as text. Rows are not numbered, so DuckDB reads the file on every thread. Any row
-- the reader cannot split raises an error, which sends the file to the line-checked path.
-- Bound: $path, $columns (header name -> VARCHAR, in header order).
with records as (
    select *
    from read_csv(
        $path,
        columns = $columns,
        header = false,
        skip = 1,
        auto_detect = false,
        delim = ',',
        quote = '"',
        escape = '"',
        -- DuckDB splits a file into buffers of this size to read it on several threads; its
        -- default (32 MB) would read most event files on one. A longer line fails the read and
        -- the file is line-checked.
        buffer_size = 2097152
    )
),

final as (
    select
        -- every value of the row, unknown columns included, for the personal-data check
        concat_ws(chr(10), *columns(*)) as joined_values,
        event_id,
        occurred_at,
        person_id,
        id_type,
        event_type,
        content_id,
        campaign_id,
        channel,
        watch_seconds,
        region,
        device,
        consent,
        municipality
    from records
)

select * from final
