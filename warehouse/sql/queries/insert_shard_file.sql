-- One file's share of a batch stored by a shard (raw.shard_files), in the shard's transaction.
-- Bound: $file_sha256, $valid_rows, $suppressed_rows, $duplicate_rows, $stored_at.
insert into raw.shard_files (file_sha256, valid_rows, suppressed_rows, duplicate_rows, stored_at)
values ($file_sha256, $valid_rows, $suppressed_rows, $duplicate_rows, $stored_at)
