-- For each run of reader-rejected lines: how many good rows came before it and how many lines
-- were rejected up to it, so a good row's ordinal among good rows maps back to its line number
-- (line = ordinal + header lines + rejected lines before it). Input: temp table
-- ingest_rejected_lines (line). Bound: $header_lines.
create or replace temp table ingest_line_offsets as
with rejected as (
    select line, row_number() over (order by line) as rejected_so_far
    from ingest_rejected_lines
),

final as (
    select
        line - $header_lines - rejected_so_far as good_rows_before,
        max(rejected_so_far) as rejected_before
    from rejected
    group by all
)

select * from final
