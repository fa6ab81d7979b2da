-- Opt-out rows (shared/CONTRACT.md §3) checked, one JSON object per input row.
-- Input: temp view optout_source (source_row_number, item). First failing reason, in order:
-- pii_email, pii_phone, pii_ip_address, missing_person_id, bad_person_id, missing_requested_at,
-- bad_requested_at, bad_kind. A rejected row keeps no value. Bound: $kinds.
with source as (
    select * from optout_source
),

fields as (
    select
        source_row_number,
        json_extract_string(item, '$.*') as field_values,
        nullif(trim(json_extract_string(item, 'person_id')), '') as person_id,
        nullif(trim(json_extract_string(item, 'requested_at')), '') as requested_text,
        coalesce(lower(nullif(trim(json_extract_string(item, 'kind')), '')), 'erasure') as kind
    from source
),

typed as (
    select
        *,
        -- the events' own parsing: NULL (bad_requested_at) for an unreadable value, never an error
        -- a request may give only its day (midnight UTC): an erasure is never lost to its format
        case
            when regexp_full_match(requested_text, '[0-9]{4}-[0-9]{2}-[0-9]{2}')
                then cast(try_cast(requested_text as date) as timestamp)
            else norrut_occurred_at(requested_text)
        end as requested_at
    from fields
),

checked as (
    select
        *,
        case
            when list_bool_or(list_transform(field_values,
                                             lambda value: coalesce(norrut_is_email(value), false)))
                then 'pii_email'
            when list_bool_or(list_transform(field_values,
                                             lambda value: coalesce(norrut_is_phone(value), false)))
                then 'pii_phone'
            when list_bool_or(list_transform(
                    field_values, lambda value: coalesce(norrut_is_ip_address(value), false)))
                then 'pii_ip_address'
            when person_id is null then 'missing_person_id'
            when not norrut_is_person_id(person_id) then 'bad_person_id'
            when requested_text is null then 'missing_requested_at'
            when requested_at is null then 'bad_requested_at'
            when not list_contains($kinds, kind) then 'bad_kind'
        end as reason
    from typed
),

final as (
    select
        source_row_number,
        reason,
        -- The canonical form (a MAID lower-cased), as ingest stores it and suppression keys it.
        case when reason is null then norrut_canonical_person_id(person_id) end as person_id,
        case when reason is null then sha256(norrut_canonical_person_id(person_id)) end
            as person_key,
        case when reason is null then kind end as kind,
        case when reason is null then requested_at end as requested_at
    from checked
)

select * from final
