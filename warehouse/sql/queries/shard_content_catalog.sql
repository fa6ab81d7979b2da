-- A shard's copy of the main warehouse's content catalog (raw.content_catalog), brought up to date
-- in the shard's transaction before its features are built (the catalog's rows deleted first),
-- so a shard's features read the same themes as the single machine's.
-- Bound: $path (the catalog as the main warehouse wrote it).
insert into raw.content_catalog
select * from read_parquet($path)
