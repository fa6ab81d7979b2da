-- One file's record in the manifest; runs inside the file's transaction. Replaces only a
-- record of the same content refused for its extension (see ingest.ingest_file).
-- $file_name is the name as stored (core.contract.stored_file_name): withheld, with a hash of
-- the content, when the file's own name looks personal.
insert or replace into raw.ingest_files (
    file_sha256, file_name, file_format, status, rows_read, rows_loaded, rows_quarantined,
    duplicates_skipped, suppressed_dropped, unknown_columns, unknown_column_count,
    failure_reason, seconds, ingested_at
)
values (
    $file_sha256, $file_name, $file_format, $status, $rows_read, $rows_loaded, $rows_quarantined,
    $duplicates_skipped, $suppressed_dropped, cast($unknown_columns as varchar[]),
    len(cast($unknown_columns as varchar[])),
    $failure_reason, $seconds, $ingested_at
)
