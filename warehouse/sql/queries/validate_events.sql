-- Every input row checked against the contract (shared/CONTRACT.md §1), in one pass.
-- Input: the temp view ingest_source (source_ordinal, is_malformed, field_names, field_values),
-- made from one file by read_{jsonl,csv,parquet}.sql.
-- Output: one row per input row with typed fields and, for a bad row, the first failing rule
-- (in this order, documented in docs/status.md): malformed_row; the personal-data checks
-- pii_email, pii_phone, pii_ip_address over every field, unknown ones included (first, so a
-- personal value is never kept); then the contract fields in contract order.
-- Bound: $loaded_at, $earliest_occurred_at, $max_future_hours, $max_event_id_length,
-- $max_watch_seconds, $id_types, $event_types, $engagement_types, $devices, $contract_fields.
with source as (
    select * from ingest_source
),

fields as (
    select
        source_ordinal,
        is_malformed,
        field_names,
        field_values,
        nullif(trim(field_values[list_position(field_names, 'event_id')]), '') as event_id,
        nullif(trim(field_values[list_position(field_names, 'occurred_at')]), '') as occurred_at_text,
        -- the one stored form: a MAID (a UUID) lower-cased, as suppression and exports match it
        norrut_canonical_person_id(
            nullif(trim(field_values[list_position(field_names, 'person_id')]), '')) as person_id,
        nullif(trim(field_values[list_position(field_names, 'id_type')]), '') as id_type,
        nullif(trim(field_values[list_position(field_names, 'event_type')]), '') as event_type,
        nullif(trim(field_values[list_position(field_names, 'content_id')]), '') as content_id,
        nullif(trim(field_values[list_position(field_names, 'campaign_id')]), '') as campaign_id,
        lower(nullif(trim(field_values[list_position(field_names, 'channel')]), '')) as channel,
        nullif(trim(field_values[list_position(field_names, 'watch_seconds')]), '') as watch_seconds_text,
        nullif(trim(field_values[list_position(field_names, 'region')]), '') as region,
        nullif(trim(field_values[list_position(field_names, 'device')]), '') as device,
        lower(nullif(trim(field_values[list_position(field_names, 'consent')]), '')) as consent_text,
        nullif(trim(field_values[list_position(field_names, 'municipality')]), '') as municipality
    from source
),

typed as (
    select
        *,
        norrut_occurred_at(occurred_at_text) as occurred_at,
        try_cast(watch_seconds_text as double) as watch_seconds,
        norrut_consent(consent_text) as consent,
        not is_malformed
            and norrut_may_hold_pii(array_to_string(field_values, chr(10))) as may_hold_pii
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

final as (
    -- A row rejected for personal data keeps none of its values, not even in this temp table;
    -- its event_id only when that field itself is clean.
    select
        source_ordinal,
        reason,
        -- The row's column names joined by a unit separator, kept only when some column is not
        -- in the contract; ingestion lists the unknown names from the few distinct sets.
        case when not list_has_all($contract_fields, field_names)
            then array_to_string(field_names, chr(31))
        end as field_name_set,
        case
            when reason is null or reason = 'malformed_row' then null
            -- a column whose very name looks personal is not named
            when reason like 'pii_%' and norrut_may_hold_pii(field_names[coalesce(
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
            when reason in ('malformed_row', 'event_id_too_long') then null
            when reason like 'pii_%' and (
                norrut_is_email(event_id) or norrut_is_phone(event_id)
                or norrut_is_ip_address(event_id)
            ) then null
            else event_id
        end as event_id,
        occurred_at,
        case when reason like 'pii_%' then null else person_id end as person_id,
        case when reason like 'pii_%' then null else id_type end as id_type,
        case when reason like 'pii_%' then null else event_type end as event_type,
        case when reason like 'pii_%' then null else content_id end as content_id,
        case when reason like 'pii_%' then null else campaign_id end as campaign_id,
        case when reason like 'pii_%' then null else channel end as channel,
        watch_seconds,
        case when reason like 'pii_%' then null else region end as region,
        case when reason like 'pii_%' then null else device end as device,
        consent,
        case when reason like 'pii_%' then null else municipality end as municipality
    from checked
)

select * from final
