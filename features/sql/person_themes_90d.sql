-- grain: one row per eligible person shown or engaging with catalogued content in the 90 days before as_of
-- key: (person_id, as_of_date)
-- Interest by theme. A film tagged with three themes counts once for each of them and once in
-- the denominator. Shares, breadth and completion count engagements only: being shown a film
-- says nothing about interest. Impressions do count as the denominator of view and click rates
-- on job content (content tagged with any *_jobs theme), the clearest sign of interest in
-- working here. The top municipality shown has the most engagements; ties go to the
-- alphabetically first. Only events strictly before $as_of count; days_ago is 1 for the day
-- before $as_of, so a window of N days is days_ago <= N.
-- Counts come from one aggregate per person, each event joined to its content item's theme
-- flags (a 1-row-per-content table); only the completion ratios need person x film rows, and
-- only the municipality ranking person x municipality rows. Keeping the wide aggregate at one
-- row per person (not person x content) keeps its state in memory at 1e8 events. Tags outside
-- the contract's list (kept, never fatal) still count towards the breadth of interest. The
-- eligible persons are kept after aggregating: one join row per person, not a probe per event.
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
        coalesce(bool_or(themes.theme in ('engineering_jobs', 'tech_jobs', 'healthcare_jobs', 'education_jobs', 'public_sector_jobs')), false) as is_job_content,
        coalesce(bool_or(themes.theme = 'mountains'), false) as has_theme_mountains,
        coalesce(bool_or(themes.theme = 'coast'), false) as has_theme_coast,
        coalesce(bool_or(themes.theme = 'forest'), false) as has_theme_forest,
        coalesce(bool_or(themes.theme = 'northern_lights'), false) as has_theme_northern_lights,
        coalesce(bool_or(themes.theme = 'winter_outdoor'), false) as has_theme_winter_outdoor,
        coalesce(bool_or(themes.theme = 'summer_outdoor'), false) as has_theme_summer_outdoor,
        coalesce(bool_or(themes.theme = 'safety'), false) as has_theme_safety,
        coalesce(bool_or(themes.theme = 'family_life'), false) as has_theme_family_life,
        coalesce(bool_or(themes.theme = 'schools'), false) as has_theme_schools,
        coalesce(bool_or(themes.theme = 'housing'), false) as has_theme_housing,
        coalesce(bool_or(themes.theme = 'short_commute'), false) as has_theme_short_commute,
        coalesce(bool_or(themes.theme = 'culture'), false) as has_theme_culture,
        coalesce(bool_or(themes.theme = 'food'), false) as has_theme_food,
        coalesce(bool_or(themes.theme = 'sports_leisure'), false) as has_theme_sports_leisure,
        coalesce(bool_or(themes.theme = 'city_life'), false) as has_theme_city_life,
        coalesce(bool_or(themes.theme = 'green_industry'), false) as has_theme_green_industry,
        coalesce(bool_or(themes.theme = 'engineering_jobs'), false) as has_theme_engineering_jobs,
        coalesce(bool_or(themes.theme = 'tech_jobs'), false) as has_theme_tech_jobs,
        coalesce(bool_or(themes.theme = 'healthcare_jobs'), false) as has_theme_healthcare_jobs,
        coalesce(bool_or(themes.theme = 'education_jobs'), false) as has_theme_education_jobs,
        coalesce(bool_or(themes.theme = 'public_sector_jobs'), false) as has_theme_public_sector_jobs,
        coalesce(bool_or(themes.theme = 'entrepreneurship'), false) as has_theme_entrepreneurship
    from catalog
    left join themes on themes.content_id = catalog.content_id
    group by all
),

other_themes as (
    select content_id, theme from themes where theme not in ('mountains', 'coast', 'forest', 'northern_lights', 'winter_outdoor', 'summer_outdoor', 'safety', 'family_life', 'schools', 'housing', 'short_commute', 'culture', 'food', 'sports_leisure', 'city_life', 'green_industry', 'engineering_jobs', 'tech_jobs', 'healthcare_jobs', 'education_jobs', 'public_sector_jobs', 'entrepreneurship')
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
        count(case when is_engagement then 1 end) as n_engagements_90d,
        count(case when is_engagement and days_ago <= 30 then 1 end) as n_engagements_30d,
        count(case when is_job_content and is_engagement and days_ago <= 7 then 1 end) as job_engagements_7d,
        count(case when is_job_content and is_engagement and days_ago <= 14 then 1 end) as job_engagements_14d,
        count(case when is_job_content and is_engagement and days_ago <= 30 then 1 end) as job_engagements_30d,
        count(case when is_job_content and is_engagement then 1 end) as job_engagements_90d,
        count(case when is_job_content and event_type = 'impression' and days_ago <= 14 then 1 end) as job_impressions_14d,
        count(case when is_job_content and event_type = 'view' and days_ago <= 14 then 1 end) as job_views_14d,
        count(case when is_job_content and event_type = 'impression' and days_ago <= 30 then 1 end) as job_impressions_30d,
        count(case when is_job_content and event_type = 'view' and days_ago <= 30 then 1 end) as job_views_30d,
        count(case when is_job_content and event_type = 'impression' then 1 end) as job_impressions_90d,
        count(case when is_job_content and event_type = 'view' then 1 end) as job_views_90d,
        count(case when is_job_content and event_type = 'click' and days_ago <= 30 then 1 end) as job_clicks_30d,
        count(case when is_job_content and event_type = 'click' then 1 end) as job_clicks_90d,
        count(case when is_engagement and has_theme_mountains then 1 end) as n_engagements_90d__mountains,
        count(case when is_engagement and has_theme_mountains and days_ago <= 30 then 1 end) as n_engagements_30d__mountains,
        count(case when is_engagement and has_theme_coast then 1 end) as n_engagements_90d__coast,
        count(case when is_engagement and has_theme_coast and days_ago <= 30 then 1 end) as n_engagements_30d__coast,
        count(case when is_engagement and has_theme_forest then 1 end) as n_engagements_90d__forest,
        count(case when is_engagement and has_theme_forest and days_ago <= 30 then 1 end) as n_engagements_30d__forest,
        count(case when is_engagement and has_theme_northern_lights then 1 end) as n_engagements_90d__northern_lights,
        count(case when is_engagement and has_theme_northern_lights and days_ago <= 30 then 1 end) as n_engagements_30d__northern_lights,
        count(case when is_engagement and has_theme_winter_outdoor then 1 end) as n_engagements_90d__winter_outdoor,
        count(case when is_engagement and has_theme_winter_outdoor and days_ago <= 30 then 1 end) as n_engagements_30d__winter_outdoor,
        count(case when is_engagement and has_theme_summer_outdoor then 1 end) as n_engagements_90d__summer_outdoor,
        count(case when is_engagement and has_theme_summer_outdoor and days_ago <= 30 then 1 end) as n_engagements_30d__summer_outdoor,
        count(case when is_engagement and has_theme_safety then 1 end) as n_engagements_90d__safety,
        count(case when is_engagement and has_theme_safety and days_ago <= 30 then 1 end) as n_engagements_30d__safety,
        count(case when is_engagement and has_theme_family_life then 1 end) as n_engagements_90d__family_life,
        count(case when is_engagement and has_theme_family_life and days_ago <= 30 then 1 end) as n_engagements_30d__family_life,
        count(case when is_engagement and has_theme_schools then 1 end) as n_engagements_90d__schools,
        count(case when is_engagement and has_theme_schools and days_ago <= 30 then 1 end) as n_engagements_30d__schools,
        count(case when is_engagement and has_theme_housing then 1 end) as n_engagements_90d__housing,
        count(case when is_engagement and has_theme_housing and days_ago <= 30 then 1 end) as n_engagements_30d__housing,
        count(case when is_engagement and has_theme_short_commute then 1 end) as n_engagements_90d__short_commute,
        count(case when is_engagement and has_theme_short_commute and days_ago <= 30 then 1 end) as n_engagements_30d__short_commute,
        count(case when is_engagement and has_theme_culture then 1 end) as n_engagements_90d__culture,
        count(case when is_engagement and has_theme_culture and days_ago <= 30 then 1 end) as n_engagements_30d__culture,
        count(case when is_engagement and has_theme_food then 1 end) as n_engagements_90d__food,
        count(case when is_engagement and has_theme_food and days_ago <= 30 then 1 end) as n_engagements_30d__food,
        count(case when is_engagement and has_theme_sports_leisure then 1 end) as n_engagements_90d__sports_leisure,
        count(case when is_engagement and has_theme_sports_leisure and days_ago <= 30 then 1 end) as n_engagements_30d__sports_leisure,
        count(case when is_engagement and has_theme_city_life then 1 end) as n_engagements_90d__city_life,
        count(case when is_engagement and has_theme_city_life and days_ago <= 30 then 1 end) as n_engagements_30d__city_life,
        count(case when is_engagement and has_theme_green_industry then 1 end) as n_engagements_90d__green_industry,
        count(case when is_engagement and has_theme_green_industry and days_ago <= 30 then 1 end) as n_engagements_30d__green_industry,
        count(case when is_engagement and has_theme_engineering_jobs then 1 end) as n_engagements_90d__engineering_jobs,
        count(case when is_engagement and has_theme_engineering_jobs and days_ago <= 30 then 1 end) as n_engagements_30d__engineering_jobs,
        count(case when is_engagement and has_theme_tech_jobs then 1 end) as n_engagements_90d__tech_jobs,
        count(case when is_engagement and has_theme_tech_jobs and days_ago <= 30 then 1 end) as n_engagements_30d__tech_jobs,
        count(case when is_engagement and has_theme_healthcare_jobs then 1 end) as n_engagements_90d__healthcare_jobs,
        count(case when is_engagement and has_theme_healthcare_jobs and days_ago <= 30 then 1 end) as n_engagements_30d__healthcare_jobs,
        count(case when is_engagement and has_theme_education_jobs then 1 end) as n_engagements_90d__education_jobs,
        count(case when is_engagement and has_theme_education_jobs and days_ago <= 30 then 1 end) as n_engagements_30d__education_jobs,
        count(case when is_engagement and has_theme_public_sector_jobs then 1 end) as n_engagements_90d__public_sector_jobs,
        count(case when is_engagement and has_theme_public_sector_jobs and days_ago <= 30 then 1 end) as n_engagements_30d__public_sector_jobs,
        count(case when is_engagement and has_theme_entrepreneurship then 1 end) as n_engagements_90d__entrepreneurship,
        count(case when is_engagement and has_theme_entrepreneurship and days_ago <= 30 then 1 end) as n_engagements_30d__entrepreneurship
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

per_person_completion as (
    select
        person_id,
        avg(case when n_engagements_90d > 0 then least(watch_seconds_90d / duration_seconds, 1.0) end)
            as completion_ratio_90d,
        count(case when n_engagements_90d > 0 and watch_seconds_90d / duration_seconds >= 0.9 then 1 end)
            as n_films_completed_90d,
        avg(case when is_job_content and n_engagements_90d > 0
                 then least(watch_seconds_90d / duration_seconds, 1.0) end) as job_completion_90d,
        avg(case when is_job_content and n_engagements_30d > 0
                 then least(watch_seconds_30d / duration_seconds, 1.0) end) as job_completion_30d
    from per_film
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
        count(distinct other_themes.theme) as n_other_themes_90d,
        count(distinct case when events.days_ago <= 30 then other_themes.theme end) as n_other_themes_30d
    from events
    inner join other_themes on other_themes.content_id = events.content_id
    where events.is_engagement
    group by events.person_id
),

final as (
    select
        per_person.person_id,
        $as_of::date as as_of_date,
        per_person.n_engagements_90d__mountains / nullif(per_person.n_engagements_90d, 0) as theme_share_90d__mountains,
        per_person.n_engagements_90d__coast / nullif(per_person.n_engagements_90d, 0) as theme_share_90d__coast,
        per_person.n_engagements_90d__forest / nullif(per_person.n_engagements_90d, 0) as theme_share_90d__forest,
        per_person.n_engagements_90d__northern_lights / nullif(per_person.n_engagements_90d, 0) as theme_share_90d__northern_lights,
        per_person.n_engagements_90d__winter_outdoor / nullif(per_person.n_engagements_90d, 0) as theme_share_90d__winter_outdoor,
        per_person.n_engagements_90d__summer_outdoor / nullif(per_person.n_engagements_90d, 0) as theme_share_90d__summer_outdoor,
        per_person.n_engagements_90d__safety / nullif(per_person.n_engagements_90d, 0) as theme_share_90d__safety,
        per_person.n_engagements_90d__family_life / nullif(per_person.n_engagements_90d, 0) as theme_share_90d__family_life,
        per_person.n_engagements_90d__schools / nullif(per_person.n_engagements_90d, 0) as theme_share_90d__schools,
        per_person.n_engagements_90d__housing / nullif(per_person.n_engagements_90d, 0) as theme_share_90d__housing,
        per_person.n_engagements_90d__short_commute / nullif(per_person.n_engagements_90d, 0) as theme_share_90d__short_commute,
        per_person.n_engagements_90d__culture / nullif(per_person.n_engagements_90d, 0) as theme_share_90d__culture,
        per_person.n_engagements_90d__food / nullif(per_person.n_engagements_90d, 0) as theme_share_90d__food,
        per_person.n_engagements_90d__sports_leisure / nullif(per_person.n_engagements_90d, 0) as theme_share_90d__sports_leisure,
        per_person.n_engagements_90d__city_life / nullif(per_person.n_engagements_90d, 0) as theme_share_90d__city_life,
        per_person.n_engagements_90d__green_industry / nullif(per_person.n_engagements_90d, 0) as theme_share_90d__green_industry,
        per_person.n_engagements_90d__engineering_jobs / nullif(per_person.n_engagements_90d, 0) as theme_share_90d__engineering_jobs,
        per_person.n_engagements_90d__tech_jobs / nullif(per_person.n_engagements_90d, 0) as theme_share_90d__tech_jobs,
        per_person.n_engagements_90d__healthcare_jobs / nullif(per_person.n_engagements_90d, 0) as theme_share_90d__healthcare_jobs,
        per_person.n_engagements_90d__education_jobs / nullif(per_person.n_engagements_90d, 0) as theme_share_90d__education_jobs,
        per_person.n_engagements_90d__public_sector_jobs / nullif(per_person.n_engagements_90d, 0) as theme_share_90d__public_sector_jobs,
        per_person.n_engagements_90d__entrepreneurship / nullif(per_person.n_engagements_90d, 0) as theme_share_90d__entrepreneurship,
        per_person.n_engagements_30d__mountains as theme_engagements_30d__mountains,
        per_person.n_engagements_30d__coast as theme_engagements_30d__coast,
        per_person.n_engagements_30d__forest as theme_engagements_30d__forest,
        per_person.n_engagements_30d__northern_lights as theme_engagements_30d__northern_lights,
        per_person.n_engagements_30d__winter_outdoor as theme_engagements_30d__winter_outdoor,
        per_person.n_engagements_30d__summer_outdoor as theme_engagements_30d__summer_outdoor,
        per_person.n_engagements_30d__safety as theme_engagements_30d__safety,
        per_person.n_engagements_30d__family_life as theme_engagements_30d__family_life,
        per_person.n_engagements_30d__schools as theme_engagements_30d__schools,
        per_person.n_engagements_30d__housing as theme_engagements_30d__housing,
        per_person.n_engagements_30d__short_commute as theme_engagements_30d__short_commute,
        per_person.n_engagements_30d__culture as theme_engagements_30d__culture,
        per_person.n_engagements_30d__food as theme_engagements_30d__food,
        per_person.n_engagements_30d__sports_leisure as theme_engagements_30d__sports_leisure,
        per_person.n_engagements_30d__city_life as theme_engagements_30d__city_life,
        per_person.n_engagements_30d__green_industry as theme_engagements_30d__green_industry,
        per_person.n_engagements_30d__engineering_jobs as theme_engagements_30d__engineering_jobs,
        per_person.n_engagements_30d__tech_jobs as theme_engagements_30d__tech_jobs,
        per_person.n_engagements_30d__healthcare_jobs as theme_engagements_30d__healthcare_jobs,
        per_person.n_engagements_30d__education_jobs as theme_engagements_30d__education_jobs,
        per_person.n_engagements_30d__public_sector_jobs as theme_engagements_30d__public_sector_jobs,
        per_person.n_engagements_30d__entrepreneurship as theme_engagements_30d__entrepreneurship,
        (n_engagements_90d__mountains > 0)::integer
            + (n_engagements_90d__coast > 0)::integer
            + (n_engagements_90d__forest > 0)::integer
            + (n_engagements_90d__northern_lights > 0)::integer
            + (n_engagements_90d__winter_outdoor > 0)::integer
            + (n_engagements_90d__summer_outdoor > 0)::integer
            + (n_engagements_90d__safety > 0)::integer
            + (n_engagements_90d__family_life > 0)::integer
            + (n_engagements_90d__schools > 0)::integer
            + (n_engagements_90d__housing > 0)::integer
            + (n_engagements_90d__short_commute > 0)::integer
            + (n_engagements_90d__culture > 0)::integer
            + (n_engagements_90d__food > 0)::integer
            + (n_engagements_90d__sports_leisure > 0)::integer
            + (n_engagements_90d__city_life > 0)::integer
            + (n_engagements_90d__green_industry > 0)::integer
            + (n_engagements_90d__engineering_jobs > 0)::integer
            + (n_engagements_90d__tech_jobs > 0)::integer
            + (n_engagements_90d__healthcare_jobs > 0)::integer
            + (n_engagements_90d__education_jobs > 0)::integer
            + (n_engagements_90d__public_sector_jobs > 0)::integer
            + (n_engagements_90d__entrepreneurship > 0)::integer
            + coalesce(per_person_other_themes.n_other_themes_90d, 0) as n_themes_90d,
        (n_engagements_30d__mountains > 0)::integer
            + (n_engagements_30d__coast > 0)::integer
            + (n_engagements_30d__forest > 0)::integer
            + (n_engagements_30d__northern_lights > 0)::integer
            + (n_engagements_30d__winter_outdoor > 0)::integer
            + (n_engagements_30d__summer_outdoor > 0)::integer
            + (n_engagements_30d__safety > 0)::integer
            + (n_engagements_30d__family_life > 0)::integer
            + (n_engagements_30d__schools > 0)::integer
            + (n_engagements_30d__housing > 0)::integer
            + (n_engagements_30d__short_commute > 0)::integer
            + (n_engagements_30d__culture > 0)::integer
            + (n_engagements_30d__food > 0)::integer
            + (n_engagements_30d__sports_leisure > 0)::integer
            + (n_engagements_30d__city_life > 0)::integer
            + (n_engagements_30d__green_industry > 0)::integer
            + (n_engagements_30d__engineering_jobs > 0)::integer
            + (n_engagements_30d__tech_jobs > 0)::integer
            + (n_engagements_30d__healthcare_jobs > 0)::integer
            + (n_engagements_30d__education_jobs > 0)::integer
            + (n_engagements_30d__public_sector_jobs > 0)::integer
            + (n_engagements_30d__entrepreneurship > 0)::integer
            + coalesce(per_person_other_themes.n_other_themes_30d, 0) as n_themes_30d,
        per_person_completion.completion_ratio_90d,
        coalesce(per_person_completion.n_films_completed_90d, 0) as n_films_completed_90d,
        coalesce(per_person_municipality.n_municipalities_shown_90d, 0) as n_municipalities_shown_90d,
        per_person_municipality.top_municipality_shown_90d,
        per_person.job_engagements_90d / nullif(per_person.n_engagements_90d, 0) as job_share_90d,
        per_person.job_engagements_30d / nullif(per_person.n_engagements_30d, 0) as job_share_30d,
        per_person.job_engagements_7d,
        per_person.job_engagements_14d,
        per_person.job_engagements_30d,
        per_person.job_engagements_90d,
        per_person.job_views_14d / nullif(per_person.job_impressions_14d, 0) as job_view_rate_14d,
        per_person.job_views_30d / nullif(per_person.job_impressions_30d, 0) as job_view_rate_30d,
        per_person.job_views_90d / nullif(per_person.job_impressions_90d, 0) as job_view_rate_90d,
        per_person.job_clicks_30d / nullif(per_person.job_impressions_30d, 0) as job_click_rate_30d,
        per_person.job_clicks_90d / nullif(per_person.job_impressions_90d, 0) as job_click_rate_90d,
        per_person_completion.job_completion_30d,
        per_person_completion.job_completion_90d
    from per_person
    inner join eligible on eligible.person_id = per_person.person_id
    left join per_person_completion on per_person_completion.person_id = per_person.person_id
    left join per_person_municipality on per_person_municipality.person_id = per_person.person_id
    left join per_person_other_themes on per_person_other_themes.person_id = per_person.person_id
)

select * from final;
