-- grain: one row per eligible person shown or engaging with catalogued content in the 90 days before as_of
-- key: (person_id, as_of_date)
-- Interest by theme. Events are first reduced to person x content, then joined to the
-- catalog's themes, so a film tagged with three themes counts once for each of them and once
-- in the denominator. Shares, breadth and completion count engagements only: being shown a
-- film says nothing about interest. Impressions do count as the denominator of view and click
-- rates on job content (content tagged with any *_jobs theme), the clearest sign of interest in
-- working here. The top municipality shown has the most engagements; ties go to the
-- alphabetically first.
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

job_contents as (
    select distinct content_id from themes where theme in ('engineering_jobs', 'tech_jobs', 'healthcare_jobs', 'education_jobs', 'public_sector_jobs')
),

-- Impressions matter here only as the denominator of job-content rates.
events as (
    select person_id, content_id, occurred_at, event_type, watch_seconds
    from staging.stg_events
    where occurred_at < $as_of
      and occurred_at >= $as_of - interval 90 day
      and not is_intent
      and content_id is not null
      and (event_type <> 'impression' or content_id in (select content_id from job_contents))
      and person_id in (select person_id from eligible)
),

per_content as (
    select
        person_id,
        content_id,
        count(*) filter (where event_type <> 'impression' and occurred_at >= $as_of - interval 7 day) as n_engagements_7d,
        count(*) filter (where event_type <> 'impression' and occurred_at >= $as_of - interval 14 day) as n_engagements_14d,
        count(*) filter (where event_type <> 'impression' and occurred_at >= $as_of - interval 30 day) as n_engagements_30d,
        count(*) filter (where event_type <> 'impression') as n_engagements_90d,
        count(*) filter (where event_type = 'impression' and occurred_at >= $as_of - interval 14 day) as n_impressions_14d,
        count(*) filter (where event_type = 'view' and occurred_at >= $as_of - interval 14 day) as n_views_14d,
        count(*) filter (where event_type = 'impression' and occurred_at >= $as_of - interval 30 day) as n_impressions_30d,
        count(*) filter (where event_type = 'view' and occurred_at >= $as_of - interval 30 day) as n_views_30d,
        count(*) filter (where event_type = 'impression') as n_impressions_90d,
        count(*) filter (where event_type = 'view') as n_views_90d,
        count(*) filter (where event_type = 'click' and occurred_at >= $as_of - interval 30 day) as n_clicks_30d,
        count(*) filter (where event_type = 'click') as n_clicks_90d,
        coalesce(sum(watch_seconds), 0) as watch_seconds_90d,
        coalesce(sum(watch_seconds) filter (where occurred_at >= $as_of - interval 30 day), 0) as watch_seconds_30d
    from events
    group by person_id, content_id
),

per_content_with_catalog as (
    select
        per_content.*,
        per_content.n_engagements_30d > 0 as is_in_30d,
        job_contents.content_id is not null as is_job_content,
        case when per_content.n_engagements_90d > 0 then catalog.municipality end as municipality,
        case
            when catalog.kind = 'film' and catalog.duration_seconds > 0
                 and per_content.n_engagements_90d > 0
                then least(per_content.watch_seconds_90d / catalog.duration_seconds, 1.0)
        end as completion_ratio,
        case
            when catalog.kind = 'film' and catalog.duration_seconds > 0
                 and per_content.n_engagements_30d > 0
                then least(per_content.watch_seconds_30d / catalog.duration_seconds, 1.0)
        end as completion_ratio_30d
    from per_content
    left join catalog on catalog.content_id = per_content.content_id
    left join job_contents on job_contents.content_id = per_content.content_id
),

municipality_counts as (
    select person_id, municipality, sum(n_engagements_90d) as n_engagements
    from per_content_with_catalog
    where municipality is not null
    group by person_id, municipality
),

top_municipality as (
    select person_id, first(municipality order by n_engagements desc, municipality) as top_municipality_shown_90d
    from municipality_counts
    group by person_id
),

per_person as (
    select
        per_content_with_catalog.person_id,
        sum(n_engagements_90d) as n_engagements_90d,
        sum(n_engagements_30d) as n_engagements_30d,
        avg(completion_ratio) as completion_ratio_90d,
        count(*) filter (where completion_ratio >= 0.9) as n_films_completed_90d,
        count(distinct municipality) as n_municipalities_shown_90d,
        any_value(top_municipality.top_municipality_shown_90d) as top_municipality_shown_90d,
        coalesce(sum(n_engagements_7d) filter (where is_job_content), 0) as job_engagements_7d,
        coalesce(sum(n_engagements_14d) filter (where is_job_content), 0) as job_engagements_14d,
        coalesce(sum(n_engagements_30d) filter (where is_job_content), 0) as job_engagements_30d,
        coalesce(sum(n_engagements_90d) filter (where is_job_content), 0) as job_engagements_90d,
        coalesce(sum(n_impressions_14d) filter (where is_job_content), 0) as job_impressions_14d,
        coalesce(sum(n_views_14d) filter (where is_job_content), 0) as job_views_14d,
        coalesce(sum(n_impressions_30d) filter (where is_job_content), 0) as job_impressions_30d,
        coalesce(sum(n_views_30d) filter (where is_job_content), 0) as job_views_30d,
        coalesce(sum(n_impressions_90d) filter (where is_job_content), 0) as job_impressions_90d,
        coalesce(sum(n_views_90d) filter (where is_job_content), 0) as job_views_90d,
        coalesce(sum(n_clicks_30d) filter (where is_job_content), 0) as job_clicks_30d,
        coalesce(sum(n_clicks_90d) filter (where is_job_content), 0) as job_clicks_90d,
        avg(completion_ratio) filter (where is_job_content) as job_completion_90d,
        avg(completion_ratio_30d) filter (where is_job_content) as job_completion_30d
    from per_content_with_catalog
    left join top_municipality using (person_id)
    group by per_content_with_catalog.person_id
),

-- One row per person and theme first, so the pivot into one column per theme below works on a
-- few rows per person instead of every person x content x theme.
per_person_theme as (
    select
        per_content_with_catalog.person_id,
        themes.theme,
        sum(per_content_with_catalog.n_engagements_90d) as n_engagements_90d,
        sum(per_content_with_catalog.n_engagements_30d) as n_engagements_30d
    from per_content_with_catalog
    inner join themes on themes.content_id = per_content_with_catalog.content_id
    where per_content_with_catalog.n_engagements_90d > 0
    group by per_content_with_catalog.person_id, themes.theme
),

per_theme as (
    select
        person_id,
        count(*) as n_themes_90d,
        count(*) filter (where n_engagements_30d > 0) as n_themes_30d,
        sum(n_engagements_90d) filter (where theme = 'mountains') as n_engagements_90d__mountains,
        sum(n_engagements_30d) filter (where theme = 'mountains') as n_engagements_30d__mountains,
        sum(n_engagements_90d) filter (where theme = 'coast') as n_engagements_90d__coast,
        sum(n_engagements_30d) filter (where theme = 'coast') as n_engagements_30d__coast,
        sum(n_engagements_90d) filter (where theme = 'forest') as n_engagements_90d__forest,
        sum(n_engagements_30d) filter (where theme = 'forest') as n_engagements_30d__forest,
        sum(n_engagements_90d) filter (where theme = 'northern_lights') as n_engagements_90d__northern_lights,
        sum(n_engagements_30d) filter (where theme = 'northern_lights') as n_engagements_30d__northern_lights,
        sum(n_engagements_90d) filter (where theme = 'winter_outdoor') as n_engagements_90d__winter_outdoor,
        sum(n_engagements_30d) filter (where theme = 'winter_outdoor') as n_engagements_30d__winter_outdoor,
        sum(n_engagements_90d) filter (where theme = 'summer_outdoor') as n_engagements_90d__summer_outdoor,
        sum(n_engagements_30d) filter (where theme = 'summer_outdoor') as n_engagements_30d__summer_outdoor,
        sum(n_engagements_90d) filter (where theme = 'safety') as n_engagements_90d__safety,
        sum(n_engagements_30d) filter (where theme = 'safety') as n_engagements_30d__safety,
        sum(n_engagements_90d) filter (where theme = 'family_life') as n_engagements_90d__family_life,
        sum(n_engagements_30d) filter (where theme = 'family_life') as n_engagements_30d__family_life,
        sum(n_engagements_90d) filter (where theme = 'schools') as n_engagements_90d__schools,
        sum(n_engagements_30d) filter (where theme = 'schools') as n_engagements_30d__schools,
        sum(n_engagements_90d) filter (where theme = 'housing') as n_engagements_90d__housing,
        sum(n_engagements_30d) filter (where theme = 'housing') as n_engagements_30d__housing,
        sum(n_engagements_90d) filter (where theme = 'short_commute') as n_engagements_90d__short_commute,
        sum(n_engagements_30d) filter (where theme = 'short_commute') as n_engagements_30d__short_commute,
        sum(n_engagements_90d) filter (where theme = 'culture') as n_engagements_90d__culture,
        sum(n_engagements_30d) filter (where theme = 'culture') as n_engagements_30d__culture,
        sum(n_engagements_90d) filter (where theme = 'food') as n_engagements_90d__food,
        sum(n_engagements_30d) filter (where theme = 'food') as n_engagements_30d__food,
        sum(n_engagements_90d) filter (where theme = 'sports_leisure') as n_engagements_90d__sports_leisure,
        sum(n_engagements_30d) filter (where theme = 'sports_leisure') as n_engagements_30d__sports_leisure,
        sum(n_engagements_90d) filter (where theme = 'city_life') as n_engagements_90d__city_life,
        sum(n_engagements_30d) filter (where theme = 'city_life') as n_engagements_30d__city_life,
        sum(n_engagements_90d) filter (where theme = 'green_industry') as n_engagements_90d__green_industry,
        sum(n_engagements_30d) filter (where theme = 'green_industry') as n_engagements_30d__green_industry,
        sum(n_engagements_90d) filter (where theme = 'engineering_jobs') as n_engagements_90d__engineering_jobs,
        sum(n_engagements_30d) filter (where theme = 'engineering_jobs') as n_engagements_30d__engineering_jobs,
        sum(n_engagements_90d) filter (where theme = 'tech_jobs') as n_engagements_90d__tech_jobs,
        sum(n_engagements_30d) filter (where theme = 'tech_jobs') as n_engagements_30d__tech_jobs,
        sum(n_engagements_90d) filter (where theme = 'healthcare_jobs') as n_engagements_90d__healthcare_jobs,
        sum(n_engagements_30d) filter (where theme = 'healthcare_jobs') as n_engagements_30d__healthcare_jobs,
        sum(n_engagements_90d) filter (where theme = 'education_jobs') as n_engagements_90d__education_jobs,
        sum(n_engagements_30d) filter (where theme = 'education_jobs') as n_engagements_30d__education_jobs,
        sum(n_engagements_90d) filter (where theme = 'public_sector_jobs') as n_engagements_90d__public_sector_jobs,
        sum(n_engagements_30d) filter (where theme = 'public_sector_jobs') as n_engagements_30d__public_sector_jobs,
        sum(n_engagements_90d) filter (where theme = 'entrepreneurship') as n_engagements_90d__entrepreneurship,
        sum(n_engagements_30d) filter (where theme = 'entrepreneurship') as n_engagements_30d__entrepreneurship,
    from per_person_theme
    group by person_id
),

final as (
    select
        per_person.person_id,
        $as_of::date as as_of_date,
        coalesce(n_engagements_90d__mountains, 0) / nullif(per_person.n_engagements_90d, 0) as theme_share_90d__mountains,
        coalesce(n_engagements_90d__coast, 0) / nullif(per_person.n_engagements_90d, 0) as theme_share_90d__coast,
        coalesce(n_engagements_90d__forest, 0) / nullif(per_person.n_engagements_90d, 0) as theme_share_90d__forest,
        coalesce(n_engagements_90d__northern_lights, 0) / nullif(per_person.n_engagements_90d, 0) as theme_share_90d__northern_lights,
        coalesce(n_engagements_90d__winter_outdoor, 0) / nullif(per_person.n_engagements_90d, 0) as theme_share_90d__winter_outdoor,
        coalesce(n_engagements_90d__summer_outdoor, 0) / nullif(per_person.n_engagements_90d, 0) as theme_share_90d__summer_outdoor,
        coalesce(n_engagements_90d__safety, 0) / nullif(per_person.n_engagements_90d, 0) as theme_share_90d__safety,
        coalesce(n_engagements_90d__family_life, 0) / nullif(per_person.n_engagements_90d, 0) as theme_share_90d__family_life,
        coalesce(n_engagements_90d__schools, 0) / nullif(per_person.n_engagements_90d, 0) as theme_share_90d__schools,
        coalesce(n_engagements_90d__housing, 0) / nullif(per_person.n_engagements_90d, 0) as theme_share_90d__housing,
        coalesce(n_engagements_90d__short_commute, 0) / nullif(per_person.n_engagements_90d, 0) as theme_share_90d__short_commute,
        coalesce(n_engagements_90d__culture, 0) / nullif(per_person.n_engagements_90d, 0) as theme_share_90d__culture,
        coalesce(n_engagements_90d__food, 0) / nullif(per_person.n_engagements_90d, 0) as theme_share_90d__food,
        coalesce(n_engagements_90d__sports_leisure, 0) / nullif(per_person.n_engagements_90d, 0) as theme_share_90d__sports_leisure,
        coalesce(n_engagements_90d__city_life, 0) / nullif(per_person.n_engagements_90d, 0) as theme_share_90d__city_life,
        coalesce(n_engagements_90d__green_industry, 0) / nullif(per_person.n_engagements_90d, 0) as theme_share_90d__green_industry,
        coalesce(n_engagements_90d__engineering_jobs, 0) / nullif(per_person.n_engagements_90d, 0) as theme_share_90d__engineering_jobs,
        coalesce(n_engagements_90d__tech_jobs, 0) / nullif(per_person.n_engagements_90d, 0) as theme_share_90d__tech_jobs,
        coalesce(n_engagements_90d__healthcare_jobs, 0) / nullif(per_person.n_engagements_90d, 0) as theme_share_90d__healthcare_jobs,
        coalesce(n_engagements_90d__education_jobs, 0) / nullif(per_person.n_engagements_90d, 0) as theme_share_90d__education_jobs,
        coalesce(n_engagements_90d__public_sector_jobs, 0) / nullif(per_person.n_engagements_90d, 0) as theme_share_90d__public_sector_jobs,
        coalesce(n_engagements_90d__entrepreneurship, 0) / nullif(per_person.n_engagements_90d, 0) as theme_share_90d__entrepreneurship,
        coalesce(n_engagements_30d__mountains, 0) as theme_engagements_30d__mountains,
        coalesce(n_engagements_30d__coast, 0) as theme_engagements_30d__coast,
        coalesce(n_engagements_30d__forest, 0) as theme_engagements_30d__forest,
        coalesce(n_engagements_30d__northern_lights, 0) as theme_engagements_30d__northern_lights,
        coalesce(n_engagements_30d__winter_outdoor, 0) as theme_engagements_30d__winter_outdoor,
        coalesce(n_engagements_30d__summer_outdoor, 0) as theme_engagements_30d__summer_outdoor,
        coalesce(n_engagements_30d__safety, 0) as theme_engagements_30d__safety,
        coalesce(n_engagements_30d__family_life, 0) as theme_engagements_30d__family_life,
        coalesce(n_engagements_30d__schools, 0) as theme_engagements_30d__schools,
        coalesce(n_engagements_30d__housing, 0) as theme_engagements_30d__housing,
        coalesce(n_engagements_30d__short_commute, 0) as theme_engagements_30d__short_commute,
        coalesce(n_engagements_30d__culture, 0) as theme_engagements_30d__culture,
        coalesce(n_engagements_30d__food, 0) as theme_engagements_30d__food,
        coalesce(n_engagements_30d__sports_leisure, 0) as theme_engagements_30d__sports_leisure,
        coalesce(n_engagements_30d__city_life, 0) as theme_engagements_30d__city_life,
        coalesce(n_engagements_30d__green_industry, 0) as theme_engagements_30d__green_industry,
        coalesce(n_engagements_30d__engineering_jobs, 0) as theme_engagements_30d__engineering_jobs,
        coalesce(n_engagements_30d__tech_jobs, 0) as theme_engagements_30d__tech_jobs,
        coalesce(n_engagements_30d__healthcare_jobs, 0) as theme_engagements_30d__healthcare_jobs,
        coalesce(n_engagements_30d__education_jobs, 0) as theme_engagements_30d__education_jobs,
        coalesce(n_engagements_30d__public_sector_jobs, 0) as theme_engagements_30d__public_sector_jobs,
        coalesce(n_engagements_30d__entrepreneurship, 0) as theme_engagements_30d__entrepreneurship,
        coalesce(per_theme.n_themes_90d, 0) as n_themes_90d,
        coalesce(per_theme.n_themes_30d, 0) as n_themes_30d,
        per_person.completion_ratio_90d,
        per_person.n_films_completed_90d,
        per_person.n_municipalities_shown_90d,
        per_person.top_municipality_shown_90d,
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
        per_person.job_completion_30d,
        per_person.job_completion_90d
    from per_person
    left join per_theme on per_theme.person_id = per_person.person_id
)

select * from final;
