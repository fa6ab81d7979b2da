-- Every input row checked against the contract (docs/contract.md), in one pass, whatever the
-- file's format or layout: the one check of ingestion.
-- Input: the view ingest_source (fields_by_position.sql, read_batch_jsonl.sql,
-- read_batch_jsonl_lines.sql): file_position, source_ordinal, is_malformed,
-- has_repeated_fields (the row names a column twice), field_names and field_values (every column
-- of the row, in the file's order), other_field_names (the names outside the contract joined by
-- chr(31), where the row itself names them: JSON lines), and the 13 contract fields as the file
-- gives them (untrimmed text).
-- Output: one row per input row with typed fields and, for a bad row, the first failing rule
-- (in this order, documented in docs/status.md): malformed_row; the personal-data checks
-- pii_email, pii_phone, pii_ip_address over every field, unknown ones included (first, so a
-- personal value is never kept); then the contract fields in contract order.
-- The everyday row is proved clean first, cheaply (is_clean: one pattern over all its values,
-- list look-ups for the enumerated ones); only a row that is not clean pays for trimming every value and
-- looking for personal data across the whole row. A clean row is stored exactly as the full check
-- would store it: none of its values is padded, empty or personal.
-- Bound: $loaded_at, $earliest_occurred_at, $max_future_hours, $max_event_id_length,
-- $max_watch_seconds, $id_types, $event_types, $engagement_types, $devices.
with source as (
    select * from ingest_source
),

screened as (
    select
        *,
        not is_malformed
            and not has_repeated_fields
            -- id_type, event_type, device and consent must be one of the contract's values, none
            -- of which is personal or padded, so a look-up proves them
            and (id_type is null or list_contains($id_types, id_type))
            and (event_type is null or list_contains($event_types, event_type))
            and (device is null or list_contains($devices, device))
            and (consent is null or norrut_consent(consent) is not null)
            -- every value of the row at once, columns outside the contract included (they are not
            -- stored, but must not be personal either): one pattern call per row
            and not coalesce(
                norrut_may_hold_pii_or_untrimmed(array_to_string(field_values, chr(10))),
                -- NULL when every value is NULL
                false
            ) as is_clean
    from source
),

fields as (
    -- a clean row's values need no trimming (is_clean proved it)
    select
        file_position,
        source_ordinal,
        is_malformed,
        is_clean,
        field_names,
        field_values,
        other_field_names,
        case when is_clean then event_id else nullif(trim(event_id), '') end as event_id,
        case when is_clean then occurred_at else nullif(trim(occurred_at), '') end as occurred_at_text,
        -- the one stored form: a MAID (a UUID) lower-cased, as suppression and exports match it
        norrut_canonical_person_id(
            case when is_clean then person_id else nullif(trim(person_id), '') end) as person_id,
        case when is_clean then id_type else nullif(trim(id_type), '') end as id_type,
        case when is_clean then event_type else nullif(trim(event_type), '') end as event_type,
        case when is_clean then content_id else nullif(trim(content_id), '') end as content_id,
        case when is_clean then campaign_id else nullif(trim(campaign_id), '') end as campaign_id,
        lower(case when is_clean then channel else nullif(trim(channel), '') end) as channel,
        case when is_clean then watch_seconds else nullif(trim(watch_seconds), '') end as watch_seconds_text,
        case when is_clean then region else nullif(trim(region), '') end as region,
        case when is_clean then device else nullif(trim(device), '') end as device,
        lower(case when is_clean then consent else nullif(trim(consent), '') end) as consent_text,
        case when is_clean then municipality else nullif(trim(municipality), '') end as municipality
    from screened
),

typed as (
    select
        *,
        norrut_occurred_at(occurred_at_text) as occurred_at,
        try_cast(watch_seconds_text as double) as watch_seconds,
        norrut_consent(consent_text) as consent,
        -- CASE, not AND: DuckDB evaluates every operand of an AND on every row, but a CASE
        -- branch only on the rows that reach it, so clean rows never pay for this pattern
        case when not is_clean and not is_malformed
            then norrut_may_hold_pii(array_to_string(field_values, chr(10)))
            else false
        end as may_hold_pii
    from fields
),

folded as (
    select
        *,
        -- look-alike characters folded once per value, not once per detector (each detector
        -- folds its input too, but a folded value holds none left)
        case when may_hold_pii then list_transform(field_values, lambda value: norrut_folded(value))
        end as folded_values
    from typed
),

personal as (
    select
        *,
        -- 1-based position of the first field holding each kind of personal data, if any
        case when may_hold_pii then list_position(
            list_transform(folded_values, lambda value: coalesce(norrut_is_email(value), false)), true)
        end as email_field_position,
        case when may_hold_pii then list_position(
            list_transform(folded_values, lambda value: coalesce(norrut_is_phone(value), false)), true)
        end as phone_field_position,
        case when may_hold_pii then list_position(
            list_transform(folded_values, lambda value: coalesce(norrut_is_ip_address(value), false)), true)
        end as ip_field_position
    from folded
),

checked as (
    select
        *,
        case
            when is_malformed then 'malformed_row'
            when email_field_position is not null then 'pii_email'
            when phone_field_position is not null then 'pii_phone'
            when ip_field_position is not null then 'pii_ip_address'
            when event_id is null then 'missing_event_id'
            when length(event_id) > $max_event_id_length then 'event_id_too_long'
            when occurred_at_text is null then 'missing_occurred_at'
            -- before $earliest_occurred_at: not a real campaign's event (epoch seconds read
            -- as milliseconds land in January 1970)
            when occurred_at is null or occurred_at < $earliest_occurred_at then 'bad_occurred_at'
            when occurred_at > $loaded_at + to_hours($max_future_hours) then 'future_occurred_at'
            when person_id is null then 'missing_person_id'
            when not norrut_is_person_id(person_id) then 'bad_person_id'
            when id_type is null or not list_contains($id_types, id_type) then 'bad_id_type'
            when event_type is null or not list_contains($event_types, event_type) then 'bad_event_type'
            when content_id is null and list_contains($engagement_types, event_type)
                then 'missing_content_id'
            when watch_seconds_text is not null
                and (watch_seconds is null or not isfinite(watch_seconds)
                     or watch_seconds < 0 or watch_seconds > $max_watch_seconds)
                then 'bad_watch_seconds'
            when device is not null and not list_contains($devices, device) then 'bad_device'
            when consent_text is null then 'missing_consent'
            when consent is null then 'bad_consent'
        end as reason
    from personal
),

verdicts as (
    select
        *,
        -- (once per row, not once per withheld column)
        coalesce(reason like 'pii_%', false) as is_personal
    from checked
),

final as (
    -- A row rejected for personal data keeps none of its values, not even in this temp table;
    -- its event_id only when that field itself is clean.
    select
        file_position,
        source_ordinal,
        reason,
        -- The names of the row's columns outside the contract, joined by a unit separator, as the
        -- reader gives them; ingestion lists the unknown names from the few distinct sets.
        other_field_names as field_name_set,
        case
            when reason is null or reason = 'malformed_row' then null
            -- a column whose very name looks personal is not named
            when is_personal and norrut_may_hold_pii(field_names[coalesce(
                email_field_position, phone_field_position, ip_field_position)])
                then '(name withheld)'
            when reason = 'pii_email' then field_names[email_field_position]
            when reason = 'pii_phone' then field_names[phone_field_position]
            when reason = 'pii_ip_address' then field_names[ip_field_position]
            when reason = 'missing_content_id' then 'content_id'
            when reason in ('missing_consent', 'bad_consent') then 'consent'
            when reason in ('missing_event_id', 'event_id_too_long') then 'event_id'
            when reason like '%occurred_at' then 'occurred_at'
            when reason like '%person_id' then 'person_id'
            when reason = 'bad_id_type' then 'id_type'
            when reason = 'bad_event_type' then 'event_type'
            when reason = 'bad_watch_seconds' then 'watch_seconds'
            when reason = 'bad_device' then 'device'
        end as reason_field,
        case
            -- (a valid row first: the detectors below would otherwise run on every row)
            when reason is null then event_id
            when reason in ('malformed_row', 'event_id_too_long') then null
            when is_personal and (
                norrut_is_email(event_id) or norrut_is_phone(event_id)
                or norrut_is_ip_address(event_id)
            ) then null
            else event_id
        end as event_id,
        occurred_at,
        case when is_personal then null else person_id end as person_id,
        case when is_personal then null else id_type end as id_type,
        case when is_personal then null else event_type end as event_type,
        case when is_personal then null else content_id end as content_id,
        case when is_personal then null else campaign_id end as campaign_id,
        case when is_personal then null else channel end as channel,
        watch_seconds,
        case when is_personal then null else region end as region,
        case when is_personal then null else device end as device,
        consent,
        case when is_personal then null else municipality end as municipality
    from verdicts
)

select * from final
