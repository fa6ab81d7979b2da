-- grain: one export file an opt-out run rewrote without the opted-out persons, or withdrew
-- key: (run_id, export_file)
-- export_file is the file's path under the exports folder (<as_of>/v<N>/<segment>/<file>).
-- No person id, raw or hashed: only how many rows left the file, and why one was withdrawn.
create table audit.optout_export_files (
    run_id varchar not null,
    export_file varchar not null,
    destination varchar not null,
    action varchar not null check (action in ('rewritten', 'withdrawn')),
    rows_removed bigint not null,
    reason varchar,
    changed_at timestamptz not null,
    primary key (run_id, export_file)
);
