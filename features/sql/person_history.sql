-- grain: one row per eligible person with any event before as_of
-- key: (person_id, as_of_date)
-- Everything a person did before $as_of, however long ago: recency, frequency, earlier intent,
-- and the home region (the region seen most often; ties go to the alphabetically first).
-- One pass over the events reduces them to one row per person, region and 127-day chunk of
-- days_ago (days_ago is 1 for the day before $as_of); the per-person figures are then summed
-- over those few rows (a person's region rarely changes: two rows per person in the bench
-- world). Active days are one bit per day in a hugeint mask per chunk, so no count(distinct)
-- over person-day pairs is needed: those pairs ran to about 77 % of the events and spilled to
-- disk at 1e8 events. The number of groups drives this step's cost at 1e8 events: 63-day
-- bigint chunks (three rows per person) took 3x the CPU of 127-day ones. Conditional counts
-- are count(case when ...), cheaper than FILTER clauses on DuckDB 1.5 (see
-- person_engagement_90d.sql). The eligible persons are kept at the end, so the join sees one
-- row per person instead of one per event.
create or replace table features.person_history as
with eligible as (
    select person_id, id_type from features.person_eligible
),

events as not materialized (
    select
        person_id,
        $as_of::date - occurred_on as days_ago,
        event_type,
        is_intent,
        not is_intent and event_type <> 'impression' as is_engagement,
        region,
        municipality
    from staging.stg_events
    where occurred_at < $as_of
),

per_person_region_chunk as (
    select
        person_id,
        region,
        (days_ago - 1) // 127 as day_chunk,
        bit_or(1::hugeint << ((days_ago - 1) % 127)) as active_days_mask,
        count(*) as n_events,
        count(case when is_engagement then 1 end) as n_engagements,
        max(days_ago) as days_since_first_event,
        min(days_ago) as days_since_last_event,
        min(case when is_engagement then days_ago end) as days_since_last_engagement,
        count(case when is_intent then 1 end) as n_intent,
        count(case when event_type = 'job_click' then 1 end) as n_job_click,
        count(case when event_type = 'guide_download' then 1 end) as n_guide_download,
        count(case when event_type = 'inquiry' then 1 end) as n_inquiry,
        count(case when event_type = 'signup' then 1 end) as n_signup,
        count(case when event_type = 'fair_registration' then 1 end) as n_fair_registration,
        min(case when is_intent then days_ago end) as days_since_last_intent
    from events
    group by person_id, region, day_chunk
),

-- The same day can appear under two regions: the chunk masks are merged before counting bits.
active_days as (
    select person_id, sum(bit_count(active_days_mask))::bigint as active_days_all
    from (
        select person_id, bit_or(active_days_mask) as active_days_mask
        from per_person_region_chunk
        group by person_id, day_chunk
    )
    group by person_id
),

per_person as (
    select
        person_id,
        sum(n_events)::bigint as n_events_all,
        sum(n_engagements)::bigint as n_engagements_all,
        max(days_since_first_event) as days_since_first_event,
        min(days_since_last_event) as days_since_last_event,
        min(days_since_last_engagement) as days_since_last_engagement,
        sum(n_intent)::bigint as n_intent_all,
        sum(n_job_click)::bigint as n_job_click_all,
        sum(n_guide_download)::bigint as n_guide_download_all,
        sum(n_inquiry)::bigint as n_inquiry_all,
        sum(n_signup)::bigint as n_signup_all,
        sum(n_fair_registration)::bigint as n_fair_registration_all,
        min(days_since_last_intent) as days_since_last_intent
    from per_person_region_chunk
    group by person_id
),

region_counts as (
    select person_id, region, sum(n_events) as n_events
    from per_person_region_chunk
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

-- Intent events are few; their distinct municipalities get an aggregate of their own (inside the
-- wide aggregate a count(distinct) sends all of it down DuckDB's slower distinct path).
intent_municipalities as (
    select person_id, count(distinct municipality) as n_intent_municipalities_all
    from events
    where is_intent
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
        per_person.days_since_first_event,
        per_person.days_since_last_event,
        per_person.days_since_last_engagement,
        per_person.n_intent_all,
        per_person.n_job_click_all,
        per_person.n_guide_download_all,
        per_person.n_inquiry_all,
        per_person.n_signup_all,
        per_person.n_fair_registration_all,
        per_person.days_since_last_intent,
        coalesce(intent_municipalities.n_intent_municipalities_all, 0) as n_intent_municipalities_all
    from per_person
    inner join eligible on eligible.person_id = per_person.person_id
    inner join active_days on active_days.person_id = per_person.person_id
    left join home_region on home_region.person_id = per_person.person_id
    left join intent_municipalities on intent_municipalities.person_id = per_person.person_id
)

select * from final;
