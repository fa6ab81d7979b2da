-- One export file an opt-out run rewrote or withdrew (audit/optout_export_files.sql).
-- Bound: $run_id, $export_file, $destination, $action, $rows_removed, $reason, $changed_at.
insert into audit.optout_export_files
    (run_id, export_file, destination, action, rows_removed, reason, changed_at)
values ($run_id, $export_file, $destination, $action, $rows_removed, $reason, $changed_at)
on conflict (run_id, export_file) do update set
    action = excluded.action,
    rows_removed = audit.optout_export_files.rows_removed + excluded.rows_removed,
    reason = excluded.reason,
    changed_at = excluded.changed_at
