-- For each run of reader-rejected lines of a file: how many good rows came before it and how
-- many lines were rejected up to it, so a good row's ordinal among the reader's rows maps back to
-- its line number (line = ordinal + header lines + rejected lines before it).
-- Input: ingest_rejected_lines. Bound: $header_lines (by file position).
-- grain: one row per file and run of rejected lines; key: (file_position, good_rows_before)
create or replace temp table ingest_line_offsets as
with rejected as (
    select
        file_position,
        line,
        row_number() over (partition by file_position order by line) as rejected_so_far
    from ingest_scratch.ingest_rejected_lines
),

final as (
    select
        file_position,
        line - $header_lines[file_position] - rejected_so_far as good_rows_before,
        max(rejected_so_far) as rejected_before
    from rejected
    group by all
)

select * from final
