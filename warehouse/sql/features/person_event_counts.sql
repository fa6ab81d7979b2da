-- grain: one row per eligible person with any event before as_of
-- key: (person_id, as_of_date)
-- The one pass over the events that person_history and person_engagement_90d share: every
-- count they need, over all history and over the 3/7/14/30/90-day windows before $as_of, in
-- a single aggregate per person. Only events strictly before $as_of count. days_ago is 1 for
-- the day before $as_of, so a window of N days is days_ago <= N (as occurred_on >= as_of - N).
-- Events per person are too sparse for a person-day reduction to pay (about 1.3 events per
-- active person-day in the bench world), so the windows are filters on days_ago, and the
-- active days of the 90-day windows are bit masks of days_ago (bit days_ago - 1 in
-- active_days_mask_1_63, bit days_ago - 64 in active_days_mask_64_90) instead of a
-- count(distinct) per window. The home region comes from histogram(region) in the same pass.
-- Eligibility is applied after aggregating: one join row per person instead of a probe per event.
create or replace table features.person_event_counts as
with eligible as (
    select person_id, id_type from features.person_eligible
),

events as (
    select
        person_id,
        occurred_on,
        $as_of::date - occurred_on as days_ago,
        event_type,
        is_intent,
        not is_intent and event_type <> 'impression' as is_engagement,
        channel,
        device,
        region,
        watch_seconds,
        municipality
    from staging.stg_events
    where occurred_at < $as_of
),

per_person as (
    select
        person_id,
        count(*) as n_events_all,
        count(*) filter (where is_engagement) as n_engagements_all,
        count(distinct occurred_on) as active_days_all,
        max(days_ago) as days_since_first_event,
        min(days_ago) as days_since_last_event,
        min(days_ago) filter (where is_engagement) as days_since_last_engagement,
        count(*) filter (where is_intent) as n_intent_all,
        count(*) filter (where event_type = 'job_click') as n_job_click_all,
        count(*) filter (where event_type = 'guide_download') as n_guide_download_all,
        count(*) filter (where event_type = 'inquiry') as n_inquiry_all,
        count(*) filter (where event_type = 'signup') as n_signup_all,
        count(*) filter (where event_type = 'fair_registration') as n_fair_registration_all,
        min(days_ago) filter (where is_intent) as days_since_last_intent,
        count(distinct municipality) filter (where is_intent) as n_intent_municipalities_all,
        histogram(region) filter (where region is not null) as region_counts,
        count(*) filter (where days_ago <= 90) as n_events_90d,
        count(*) filter (where event_type = 'impression' and days_ago <= 3) as n_impression_3d,
        count(*) filter (where event_type = 'view' and days_ago <= 3) as n_view_3d,
        count(*) filter (where event_type = 'video_progress' and days_ago <= 3) as n_video_progress_3d,
        count(*) filter (where event_type = 'click' and days_ago <= 3) as n_click_3d,
        count(*) filter (where event_type = 'share' and days_ago <= 3) as n_share_3d,
        count(*) filter (where event_type = 'reaction' and days_ago <= 3) as n_reaction_3d,
        count(*) filter (where event_type = 'comment' and days_ago <= 3) as n_comment_3d,
        count(*) filter (where is_intent and days_ago <= 3) as n_intent_3d,
        coalesce(sum(watch_seconds) filter (where days_ago <= 3), 0) as watch_seconds_3d,
        count(*) filter (where event_type = 'impression' and days_ago <= 7) as n_impression_7d,
        count(*) filter (where event_type = 'view' and days_ago <= 7) as n_view_7d,
        count(*) filter (where event_type = 'video_progress' and days_ago <= 7) as n_video_progress_7d,
        count(*) filter (where event_type = 'click' and days_ago <= 7) as n_click_7d,
        count(*) filter (where event_type = 'share' and days_ago <= 7) as n_share_7d,
        count(*) filter (where event_type = 'reaction' and days_ago <= 7) as n_reaction_7d,
        count(*) filter (where event_type = 'comment' and days_ago <= 7) as n_comment_7d,
        count(*) filter (where is_intent and days_ago <= 7) as n_intent_7d,
        coalesce(sum(watch_seconds) filter (where days_ago <= 7), 0) as watch_seconds_7d,
        count(*) filter (where event_type = 'impression' and days_ago <= 14) as n_impression_14d,
        count(*) filter (where event_type = 'view' and days_ago <= 14) as n_view_14d,
        count(*) filter (where event_type = 'video_progress' and days_ago <= 14) as n_video_progress_14d,
        count(*) filter (where event_type = 'click' and days_ago <= 14) as n_click_14d,
        count(*) filter (where event_type = 'share' and days_ago <= 14) as n_share_14d,
        count(*) filter (where event_type = 'reaction' and days_ago <= 14) as n_reaction_14d,
        count(*) filter (where event_type = 'comment' and days_ago <= 14) as n_comment_14d,
        count(*) filter (where is_intent and days_ago <= 14) as n_intent_14d,
        coalesce(sum(watch_seconds) filter (where days_ago <= 14), 0) as watch_seconds_14d,
        count(*) filter (where event_type = 'impression' and days_ago <= 30) as n_impression_30d,
        count(*) filter (where event_type = 'view' and days_ago <= 30) as n_view_30d,
        count(*) filter (where event_type = 'video_progress' and days_ago <= 30) as n_video_progress_30d,
        count(*) filter (where event_type = 'click' and days_ago <= 30) as n_click_30d,
        count(*) filter (where event_type = 'share' and days_ago <= 30) as n_share_30d,
        count(*) filter (where event_type = 'reaction' and days_ago <= 30) as n_reaction_30d,
        count(*) filter (where event_type = 'comment' and days_ago <= 30) as n_comment_30d,
        count(*) filter (where is_intent and days_ago <= 30) as n_intent_30d,
        coalesce(sum(watch_seconds) filter (where days_ago <= 30), 0) as watch_seconds_30d,
        count(*) filter (where event_type = 'impression' and days_ago <= 90) as n_impression_90d,
        count(*) filter (where event_type = 'view' and days_ago <= 90) as n_view_90d,
        count(*) filter (where event_type = 'video_progress' and days_ago <= 90) as n_video_progress_90d,
        count(*) filter (where event_type = 'click' and days_ago <= 90) as n_click_90d,
        count(*) filter (where event_type = 'share' and days_ago <= 90) as n_share_90d,
        count(*) filter (where event_type = 'reaction' and days_ago <= 90) as n_reaction_90d,
        count(*) filter (where event_type = 'comment' and days_ago <= 90) as n_comment_90d,
        count(*) filter (where is_intent and days_ago <= 90) as n_intent_90d,
        coalesce(sum(watch_seconds) filter (where days_ago <= 90), 0) as watch_seconds_90d,
        count(*) filter (where channel = 'meta' and days_ago <= 90) as n_channel_meta_90d,
        count(*) filter (where channel = 'instagram' and days_ago <= 90) as n_channel_instagram_90d,
        count(*) filter (where channel = 'youtube' and days_ago <= 90) as n_channel_youtube_90d,
        count(*) filter (where channel = 'google' and days_ago <= 90) as n_channel_google_90d,
        count(*) filter (where channel = 'tiktok' and days_ago <= 90) as n_channel_tiktok_90d,
        count(*) filter (where channel = 'linkedin' and days_ago <= 90) as n_channel_linkedin_90d,
        count(*) filter (where channel = 'snapchat' and days_ago <= 90) as n_channel_snapchat_90d,
        count(*) filter (where channel = 'schibsted' and days_ago <= 90) as n_channel_schibsted_90d,
        count(*) filter (where channel = 'bonnier' and days_ago <= 90) as n_channel_bonnier_90d,
        count(*) filter (where channel = 'programmatic' and days_ago <= 90) as n_channel_programmatic_90d,
        count(*) filter (where channel = 'web' and days_ago <= 90) as n_channel_web_90d,
        count(*) filter (where channel = 'email' and days_ago <= 90) as n_channel_email_90d,
        count(*) filter (where device = 'mobile' and days_ago <= 90) as n_device_mobile_90d,
        count(*) filter (where device = 'desktop' and days_ago <= 90) as n_device_desktop_90d,
        count(*) filter (where device = 'tablet' and days_ago <= 90) as n_device_tablet_90d,
        count(*) filter (where device = 'ctv' and days_ago <= 90) as n_device_ctv_90d,
        count(*) filter (where device = 'unknown' and days_ago <= 90) as n_device_unknown_90d,
        count(*) filter (where is_engagement and days_ago between 8 and 28) as n_engagements_prior_21d,
        coalesce(bit_or(case when days_ago <= 63 then 1::bigint << (days_ago - 1) end), 0) as active_days_mask_1_63,
        coalesce(bit_or(case when days_ago between 64 and 90 then 1::bigint << (days_ago - 64) end), 0) as active_days_mask_64_90
    from events
    group by person_id
),

final as (
    select
        eligible.person_id,
        eligible.id_type,
        $as_of::date as as_of_date,
        per_person.* exclude (person_id)
    from per_person
    inner join eligible on eligible.person_id = per_person.person_id
)

select * from final;
