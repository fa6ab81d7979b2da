-- grain: one row per eligible person shown or engaging with catalogued content in the 90 days before as_of
-- key: (person_id, as_of_date)
-- A template (features/feature_sql.py): its placeholders are the theme flags, theme lists,
-- per-person counts and feature columns generated from the themes features of
-- features/catalog.py. Interest by theme. A film tagged with three themes counts once for each of
-- them and once in the denominator. Shares, breadth and completion count engagements only: being
-- shown a film says nothing about interest. Impressions do count as the denominator of view and
-- click rates on job content (content tagged with a theme of JOB_CONTENT_THEMES in
-- features/catalog.py: green industry and the *_jobs themes), the clearest sign of
-- interest in working here. The top municipality shown has the most engagements; ties go to the
-- alphabetically first. Only events strictly before $as_of count; days_ago is 1 for the day
-- before $as_of, so a window of N days is days_ago <= N. Counts come from one aggregate per
-- person, each event joined to its content item's theme flags (a 1-row-per-content table); only
-- the completion ratios need person x film rows, and only the municipality ranking person x
-- municipality rows. Keeping the wide aggregate at one row per person (not person x content)
-- keeps its state in memory at 1e8 events. Tags outside the contract's list (kept, never fatal)
-- still count towards the breadth of interest. The eligible persons are kept after aggregating:
-- one join row per person, not a probe per event.
create or replace table features.person_themes_90d as
with eligible as (
    select person_id from features.person_eligible
),

catalog as (
    select content_id, kind, duration_seconds, municipality from raw.content_catalog
),

themes as (
    select distinct content_id, theme from staging.stg_content_themes
),

-- One row per catalogued content item: what a completion ratio needs, its municipality, whether
-- it is job content, and one flag per theme of the contract.
content_profile as (
    select
        catalog.content_id,
        catalog.kind = 'film' and catalog.duration_seconds > 0 as is_timed_film,
        catalog.duration_seconds,
        catalog.municipality,
        coalesce(bool_or(themes.theme in ({job_themes})), false) as is_job_content,
{theme_flags}
    from catalog
    left join themes on themes.content_id = catalog.content_id
    group by all
),

other_themes as (
    select content_id, theme from themes where theme not in ({themes})
),

-- Impressions matter here only as the denominator of job-content rates. Content missing from
-- the catalog still counts in the denominators of the shares (its flags are null, so false).
events as not materialized (
    select
        events.person_id,
        events.content_id,
        $as_of::date - events.occurred_on as days_ago,
        events.event_type,
        events.event_type <> 'impression' as is_engagement,
        events.watch_seconds,
        content_profile.* exclude (content_id)
    from staging.stg_events as events
    left join content_profile on content_profile.content_id = events.content_id
    where events.occurred_at < $as_of
      and events.occurred_at >= $as_of - interval 90 day
      and not events.is_intent
      and events.content_id is not null
      and (events.event_type <> 'impression' or content_profile.is_job_content)
),

per_person as (
    select
        person_id,
{counts}
    from events
    group by person_id
),

-- Watching is summed per film before the ratio is capped at 1 (a film watched twice is
-- complete, not 200 %); a film counts once engaged with (impressions alone do not count).
per_film as (
    select
        person_id,
        content_id,
        any_value(duration_seconds) as duration_seconds,
        any_value(is_job_content) as is_job_content,
        count(case when is_engagement then 1 end) as n_engagements_90d,
        count(case when is_engagement and days_ago <= 30 then 1 end) as n_engagements_30d,
        coalesce(sum(watch_seconds), 0) as watch_seconds_90d,
        coalesce(sum(case when days_ago <= 30 then watch_seconds end), 0) as watch_seconds_30d
    from events
    where is_timed_film
    group by person_id, content_id
),

per_film_completion as (
    -- each film's completion as a decimal, so a person's average of them is exact, whatever
    -- order the films are added in
    select
        *,
        cast(least(watch_seconds_90d / duration_seconds, 1.0) as decimal(18, 12)) as completion_90d,
        cast(least(watch_seconds_30d / duration_seconds, 1.0) as decimal(18, 12)) as completion_30d
    from per_film
),

per_person_completion as (
    select
        person_id,
        avg(case when n_engagements_90d > 0 then completion_90d end) as completion_ratio_90d,
        count(case when n_engagements_90d > 0 and watch_seconds_90d / duration_seconds >= 0.9 then 1 end)
            as n_films_completed_90d,
        avg(case when is_job_content and n_engagements_90d > 0 then completion_90d end)
            as job_completion_90d,
        avg(case when is_job_content and n_engagements_30d > 0 then completion_30d end)
            as job_completion_30d
    from per_film_completion
    group by person_id
),

municipality_counts as (
    select person_id, municipality, count(*) as n_engagements
    from events
    where is_engagement and municipality is not null
    group by person_id, municipality
),

-- The smallest (-n_engagements, municipality) is the most engaged with, alphabetically first on a tie.
per_person_municipality as (
    select
        person_id,
        count(*) as n_municipalities_shown_90d,
        arg_min(municipality, (-n_engagements, municipality)) as top_municipality_shown_90d
    from municipality_counts
    group by person_id
),

per_person_other_themes as (
    select
        events.person_id,
{other_theme_counts}
    from events
    inner join other_themes on other_themes.content_id = events.content_id
    where events.is_engagement
    group by events.person_id
),

final as (
    select
        per_person.person_id,
        $as_of::date as as_of_date,
{columns},
        per_person_completion.completion_ratio_90d,
        coalesce(per_person_completion.n_films_completed_90d, 0) as n_films_completed_90d,
        coalesce(per_person_municipality.n_municipalities_shown_90d, 0) as n_municipalities_shown_90d,
        per_person_municipality.top_municipality_shown_90d,
        per_person_completion.job_completion_30d,
        per_person_completion.job_completion_90d
    from per_person
    inner join eligible on eligible.person_id = per_person.person_id
    left join per_person_completion on per_person_completion.person_id = per_person.person_id
    left join per_person_municipality on per_person_municipality.person_id = per_person.person_id
    left join per_person_other_themes on per_person_other_themes.person_id = per_person.person_id
)

select * from final;
