-- grain: one row per eligible person with any event before as_of
-- key: (person_id, as_of_date)
-- Everything a person did before $as_of, however long ago: recency, frequency, earlier intent,
-- and the home region (the region seen most often; ties go to the alphabetically first).
-- Each aggregate runs over all persons and the eligible ones are kept at the end, so the join
-- sees one row per person instead of one per event. The count(distinct)s run as aggregates of
-- their own: inside the wide per-person aggregate they sent all of it down DuckDB's much slower
-- distinct path. events is not materialised: each aggregate rescans the (cheap) columns it needs.
create or replace table features.person_history as
with eligible as (
    select person_id, id_type from features.person_eligible
),

events as not materialized (
    select person_id, occurred_on, event_type, is_intent, region, municipality
    from staging.stg_events
    where occurred_at < $as_of
),

per_person as (
    select
        person_id,
        count(*) as n_events_all,
        count(*) filter (where not is_intent and event_type <> 'impression') as n_engagements_all,
        min(occurred_on) as first_event_on,
        max(occurred_on) as last_event_on,
        max(occurred_on) filter (where not is_intent and event_type <> 'impression')
            as last_engagement_on,
        count(*) filter (where is_intent) as n_intent_all,
        count(*) filter (where event_type = 'job_click') as n_job_click_all,
        count(*) filter (where event_type = 'guide_download') as n_guide_download_all,
        count(*) filter (where event_type = 'inquiry') as n_inquiry_all,
        count(*) filter (where event_type = 'signup') as n_signup_all,
        count(*) filter (where event_type = 'fair_registration') as n_fair_registration_all,
        max(occurred_on) filter (where is_intent) as last_intent_on
    from events
    group by person_id
),

active_days as (
    select person_id, count(distinct occurred_on) as active_days_all
    from events
    group by person_id
),

intent_municipalities as (
    select person_id, count(distinct municipality) as n_intent_municipalities_all
    from events
    where is_intent
    group by person_id
),

region_counts as (
    select person_id, region, count(*) as n_events
    from events
    where region is not null
    group by person_id, region
),

-- The smallest (-n_events, region) is the most frequent region, alphabetically first on a tie.
home_region as (
    select
        person_id,
        arg_min(region, (-n_events, region)) as home_region
    from region_counts
    group by person_id
),

final as (
    select
        per_person.person_id,
        eligible.id_type,
        $as_of::date as as_of_date,
        home_region.home_region,
        coalesce(home_region.home_region like 'SE-%', false)::double as is_home_region_sweden,
        coalesce(home_region.home_region in ('SE-BD', 'SE-AC', 'SE-Y', 'SE-Z'), false)::double
            as is_home_region_north,
        per_person.n_events_all,
        per_person.n_engagements_all,
        active_days.active_days_all,
        per_person.n_events_all / active_days.active_days_all as events_per_active_day_all,
        $as_of::date - per_person.first_event_on as days_since_first_event,
        $as_of::date - per_person.last_event_on as days_since_last_event,
        $as_of::date - per_person.last_engagement_on as days_since_last_engagement,
        per_person.n_intent_all,
        per_person.n_job_click_all,
        per_person.n_guide_download_all,
        per_person.n_inquiry_all,
        per_person.n_signup_all,
        per_person.n_fair_registration_all,
        $as_of::date - per_person.last_intent_on as days_since_last_intent,
        coalesce(intent_municipalities.n_intent_municipalities_all, 0) as n_intent_municipalities_all
    from per_person
    inner join eligible on eligible.person_id = per_person.person_id
    inner join active_days on active_days.person_id = per_person.person_id
    left join intent_municipalities on intent_municipalities.person_id = per_person.person_id
    left join home_region on home_region.person_id = per_person.person_id
)

select * from final;
