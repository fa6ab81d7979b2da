-- Schema v5: raw.events no longer keeps each event's line number in its file. Numbering rows
-- forced DuckDB to read each file on one thread; the file itself (file_sha256, and its name in
-- raw.ingest_files) stays with every event, and quarantined rows keep their line numbers.
alter table raw.events drop column source_row_number;
