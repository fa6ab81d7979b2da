-- After a reader statement: the lines DuckDB's CSV reader rejected (read_batch_csv.sql,
-- read_batch_jsonl_lines.sql), by file, into ingest_rejected_lines. The rejects table quotes
-- whole lines; ingestion drops it right after this.
-- Bound: $reader_paths and $file_paths (each file as given to its reader and as it is),
-- $file_positions (the same files' positions in the batch).
insert into ingest_scratch.ingest_rejected_lines
with rejects as (
    select distinct scans.file_path, errors.line
    from ingest_reject_errors as errors
    inner join ingest_reject_scans as scans using (scan_id, file_id)
),

final as (
    select
        $file_positions[coalesce(list_position($reader_paths, file_path),
                                 list_position($file_paths, file_path))] as file_position,
        line
    from rejects
)

select * from final
