-- grain: one row per eligible person with an engagement or intent event in the 90 days before as_of
-- key: (person_id, as_of_date)
-- A template (features/feature_sql.py): its counts, totals and columns placeholders are the
-- select items generated from the engagement features of features/catalog.py (their windows,
-- event types, channels and devices). Rolling windows of days before $as_of, counted in one
-- aggregate per person over the 90 days of events. days_ago is 1 for the day before $as_of, so a
-- window of N days is days_ago <= N (occurred_on >= as_of - N); only events strictly before
-- $as_of count. Active days are bit masks of days_ago (bit days_ago - 1 in active_days_mask_1_63,
-- bit days_ago - 64 in active_days_mask_64_90) whose set bits are counted per window: no
-- count(distinct), and no person-day table (about 1.3 events per active person-day in the bench
-- world: it hardly reduces the rows, and at 1e8 events its tens of millions of groups spilled to
-- disk). Conditional counts are count(case when ...) rather than count(*) filter (where ...): on
-- DuckDB 1.5 the same aggregate written with dozens of FILTER clauses took twice the CPU
-- (bench/results/features.md, 2026-11-23). The eligible persons are kept after aggregating: one
-- join row per person, not a probe per event.
create or replace table features.person_engagement_90d as
with eligible as (
    select person_id from features.person_eligible
),

events as (
    select
        person_id,
        $as_of::date - occurred_on as days_ago,
        event_type,
        is_intent,
        not is_intent and event_type <> 'impression' as is_engagement,
        channel,
        device,
        watch_seconds
    from staging.stg_events
    where occurred_at < $as_of
      and occurred_at >= $as_of - interval 90 day
),

per_person_counts as (
    select
        person_id,
{counts},
        count(case when is_engagement and days_ago between 8 and 28 then 1 end) as n_engagements_prior_21d,
        count(*) as n_events_90d,
        coalesce(bit_or(case when days_ago <= 63 then 1::bigint << (days_ago - 1) end), 0) as active_days_mask_1_63,
        coalesce(bit_or(case when days_ago > 63 then 1::bigint << (days_ago - 64) end), 0) as active_days_mask_64_90
    from events
    group by person_id
),

-- A window of N days keeps the low N bits of active_days_mask_1_63 (7 keeps days 1-3, 127
-- days 1-7); shifted right by 7, 2097151 keeps days 8-28 (the prior 21 days).
per_person as (
    select
        *,
{totals},
        bit_count((active_days_mask_1_63 >> 7) & 2097151) as active_days_prior_21d
    from per_person_counts
),

final as (
    select
        per_person.person_id,
        $as_of::date as as_of_date,
{columns},
        (n_engagements_7d + 1) / (n_engagements_prior_21d / 3 + 1) as trend_engagements_7d_vs_prior_21d,
        (active_days_7d + 1) / (active_days_prior_21d / 3 + 1) as trend_active_days_7d_vs_prior_21d
    from per_person
    inner join eligible on eligible.person_id = per_person.person_id
)

select * from final;
