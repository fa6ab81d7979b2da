-- A CSV or Parquet file's rows (read_batch_csv.sql, read_batch_parquet.sql) as check_events.sql
-- reads them: the contract's 13 fields picked out of each row's values by their position in the
-- file's columns. Several files' copies of this query (each over its own reader) run side by
-- side in one statement (sql_files.union_of).
-- Input: ingest_rows (source_ordinal, field_values).
-- Bound: $file_position, $field_names (the file's column names, in order), $field_positions
-- (each contract field's 1-based position among them, in contract order; 0 when the file lacks
-- the field). The names of the columns outside the contract are known from the file's header,
-- so they are not repeated on every row.
with source as (
    select * from ingest_rows
),

final as (
    select
        cast($file_position as integer) as file_position,
        source_ordinal,
        false as is_malformed,
        false as has_repeated_fields,
        cast($field_names as varchar[]) as field_names,
        field_values,
        cast(null as varchar) as other_field_names,
        -- a position of 0 gives NULL: the file lacks the field
        field_values[$field_positions[1]] as event_id,
        field_values[$field_positions[2]] as occurred_at,
        field_values[$field_positions[3]] as person_id,
        field_values[$field_positions[4]] as id_type,
        field_values[$field_positions[5]] as event_type,
        field_values[$field_positions[6]] as content_id,
        field_values[$field_positions[7]] as campaign_id,
        field_values[$field_positions[8]] as channel,
        field_values[$field_positions[9]] as watch_seconds,
        field_values[$field_positions[10]] as region,
        field_values[$field_positions[11]] as device,
        field_values[$field_positions[12]] as consent,
        field_values[$field_positions[13]] as municipality
    from source
)

select * from final
