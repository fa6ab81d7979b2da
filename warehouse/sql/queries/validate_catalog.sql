-- Content catalog rows (shared/CONTRACT.md §2) checked and typed, one JSON object per input row.
-- Input: temp view catalog_source (source_row_number, item). Themes may be a JSON array or a
-- '|'-separated list. A row breaking a rule gets the first failing reason in this order:
-- pii_email, pii_phone, pii_ip_address, missing_content_id, bad_kind, bad_duration_seconds,
-- missing_themes, bad_published_at. Bound: $kinds.
with source as (
    select * from catalog_source
),

fields as (
    select
        source_row_number,
        json_extract_string(item, '$.*') as field_values,
        nullif(trim(json_extract_string(item, 'content_id')), '') as content_id,
        nullif(trim(json_extract_string(item, 'kind')), '') as kind,
        nullif(trim(json_extract_string(item, 'title')), '') as title,
        nullif(trim(json_extract_string(item, 'duration_seconds')), '') as duration_text,
        nullif(trim(json_extract_string(item, 'themes')), '') as themes_text,
        nullif(trim(json_extract_string(item, 'municipality')), '') as municipality,
        nullif(trim(json_extract_string(item, 'published_at')), '') as published_text
    from source
),

typed as (
    select
        *,
        try_cast(duration_text as double) as duration_seconds,
        list_filter(
            list_transform(
                case
                    when coalesce(json_valid(themes_text), false)
                        and json_type(themes_text) = 'ARRAY'
                        then from_json(themes_text, '["VARCHAR"]')
                    else string_split(themes_text, '|')
                end,
                lambda theme: lower(trim(theme))
            ),
            lambda theme: theme <> ''
        ) as themes,
        case
            when regexp_full_match(published_text, '-?[0-9]{1,16}')
                then epoch_ms(cast(published_text as bigint))
            else make_timestamp(epoch_us(try_cast(published_text as timestamptz)))
        end as published_at,
        list_bool_or(list_transform(field_values, lambda value: coalesce(norrut_is_email(value), false)))
            as has_email,
        list_bool_or(list_transform(field_values, lambda value: coalesce(norrut_is_phone(value), false)))
            as has_phone,
        list_bool_or(list_transform(field_values,
                                    lambda value: coalesce(norrut_is_ip_address(value), false)))
            as has_ip_address
    from fields
),

checked as (
    select
        *,
        case
            when has_email then 'pii_email'
            when has_phone then 'pii_phone'
            when has_ip_address then 'pii_ip_address'
            when content_id is null then 'missing_content_id'
            when kind is null or not list_contains($kinds, kind) then 'bad_kind'
            when (kind = 'film' and duration_text is null)
                or (duration_text is not null
                    and (duration_seconds is null or not isfinite(duration_seconds)
                         or duration_seconds <= 0))
                then 'bad_duration_seconds'
            when themes_text is null or coalesce(len(themes), 0) = 0 then 'missing_themes'
            when published_text is not null and published_at is null then 'bad_published_at'
        end as reason
    from typed
),

final as (
    select
        source_row_number,
        reason,
        case when reason is null then content_id end as content_id,
        case when reason is null then kind end as kind,
        case when reason is null then title end as title,
        case when reason is null then duration_seconds end as duration_seconds,
        case when reason is null then themes end as themes,
        case when reason is null then municipality end as municipality,
        case when reason is null then published_at end as published_at
    from checked
)

select * from final
