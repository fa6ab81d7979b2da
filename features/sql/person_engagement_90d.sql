-- grain: one row per eligible person with an engagement or intent event in the 90 days before as_of
-- key: (person_id, as_of_date)
-- Rolling windows of 3/7/14/30/90 days before $as_of, counted in one aggregate per person over
-- the 90 days of events. days_ago is 1 for the day before $as_of, so a window of N days is
-- days_ago <= N (occurred_on >= as_of - N); only events strictly before $as_of count. Active
-- days are bit masks of days_ago (bit days_ago - 1 in active_days_mask_1_63, bit days_ago - 64 in
-- active_days_mask_64_90) whose set bits are counted per window: no count(distinct), and no
-- person-day table (about 1.3 events per active person-day in the bench world: it hardly
-- reduces the rows, and at 1e8 events its tens of millions of groups spilled to disk).
-- Conditional counts are count(case when ...) rather than count(*) filter (where ...): on
-- DuckDB 1.5 the same aggregate written with dozens of FILTER clauses took twice the CPU
-- (bench/results/features.md, 2026-11-23). The eligible persons are kept after aggregating:
-- one join row per person, not a probe per event.
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
        count(case when event_type = 'impression' and days_ago <= 3 then 1 end) as n_impression_3d,
        count(case when event_type = 'view' and days_ago <= 3 then 1 end) as n_view_3d,
        count(case when event_type = 'video_progress' and days_ago <= 3 then 1 end) as n_video_progress_3d,
        count(case when event_type = 'click' and days_ago <= 3 then 1 end) as n_click_3d,
        count(case when event_type = 'share' and days_ago <= 3 then 1 end) as n_share_3d,
        count(case when event_type = 'reaction' and days_ago <= 3 then 1 end) as n_reaction_3d,
        count(case when event_type = 'comment' and days_ago <= 3 then 1 end) as n_comment_3d,
        count(case when is_intent and days_ago <= 3 then 1 end) as n_intent_3d,
        coalesce(sum(case when days_ago <= 3 then watch_seconds end), 0) as watch_seconds_3d,
        count(case when event_type = 'impression' and days_ago <= 7 then 1 end) as n_impression_7d,
        count(case when event_type = 'view' and days_ago <= 7 then 1 end) as n_view_7d,
        count(case when event_type = 'video_progress' and days_ago <= 7 then 1 end) as n_video_progress_7d,
        count(case when event_type = 'click' and days_ago <= 7 then 1 end) as n_click_7d,
        count(case when event_type = 'share' and days_ago <= 7 then 1 end) as n_share_7d,
        count(case when event_type = 'reaction' and days_ago <= 7 then 1 end) as n_reaction_7d,
        count(case when event_type = 'comment' and days_ago <= 7 then 1 end) as n_comment_7d,
        count(case when is_intent and days_ago <= 7 then 1 end) as n_intent_7d,
        coalesce(sum(case when days_ago <= 7 then watch_seconds end), 0) as watch_seconds_7d,
        count(case when event_type = 'impression' and days_ago <= 14 then 1 end) as n_impression_14d,
        count(case when event_type = 'view' and days_ago <= 14 then 1 end) as n_view_14d,
        count(case when event_type = 'video_progress' and days_ago <= 14 then 1 end) as n_video_progress_14d,
        count(case when event_type = 'click' and days_ago <= 14 then 1 end) as n_click_14d,
        count(case when event_type = 'share' and days_ago <= 14 then 1 end) as n_share_14d,
        count(case when event_type = 'reaction' and days_ago <= 14 then 1 end) as n_reaction_14d,
        count(case when event_type = 'comment' and days_ago <= 14 then 1 end) as n_comment_14d,
        count(case when is_intent and days_ago <= 14 then 1 end) as n_intent_14d,
        coalesce(sum(case when days_ago <= 14 then watch_seconds end), 0) as watch_seconds_14d,
        count(case when event_type = 'impression' and days_ago <= 30 then 1 end) as n_impression_30d,
        count(case when event_type = 'view' and days_ago <= 30 then 1 end) as n_view_30d,
        count(case when event_type = 'video_progress' and days_ago <= 30 then 1 end) as n_video_progress_30d,
        count(case when event_type = 'click' and days_ago <= 30 then 1 end) as n_click_30d,
        count(case when event_type = 'share' and days_ago <= 30 then 1 end) as n_share_30d,
        count(case when event_type = 'reaction' and days_ago <= 30 then 1 end) as n_reaction_30d,
        count(case when event_type = 'comment' and days_ago <= 30 then 1 end) as n_comment_30d,
        count(case when is_intent and days_ago <= 30 then 1 end) as n_intent_30d,
        coalesce(sum(case when days_ago <= 30 then watch_seconds end), 0) as watch_seconds_30d,
        count(case when event_type = 'impression' then 1 end) as n_impression_90d,
        count(case when event_type = 'view' then 1 end) as n_view_90d,
        count(case when event_type = 'video_progress' then 1 end) as n_video_progress_90d,
        count(case when event_type = 'click' then 1 end) as n_click_90d,
        count(case when event_type = 'share' then 1 end) as n_share_90d,
        count(case when event_type = 'reaction' then 1 end) as n_reaction_90d,
        count(case when event_type = 'comment' then 1 end) as n_comment_90d,
        count(case when is_intent then 1 end) as n_intent_90d,
        coalesce(sum(watch_seconds), 0) as watch_seconds_90d,
        count(case when is_engagement and days_ago between 8 and 28 then 1 end) as n_engagements_prior_21d,
        count(case when channel = 'meta' then 1 end) as n_channel_meta_90d,
        count(case when channel = 'instagram' then 1 end) as n_channel_instagram_90d,
        count(case when channel = 'youtube' then 1 end) as n_channel_youtube_90d,
        count(case when channel = 'google' then 1 end) as n_channel_google_90d,
        count(case when channel = 'tiktok' then 1 end) as n_channel_tiktok_90d,
        count(case when channel = 'linkedin' then 1 end) as n_channel_linkedin_90d,
        count(case when channel = 'snapchat' then 1 end) as n_channel_snapchat_90d,
        count(case when channel = 'schibsted' then 1 end) as n_channel_schibsted_90d,
        count(case when channel = 'bonnier' then 1 end) as n_channel_bonnier_90d,
        count(case when channel = 'programmatic' then 1 end) as n_channel_programmatic_90d,
        count(case when channel = 'web' then 1 end) as n_channel_web_90d,
        count(case when channel = 'email' then 1 end) as n_channel_email_90d,
        count(case when device = 'mobile' then 1 end) as n_device_mobile_90d,
        count(case when device = 'desktop' then 1 end) as n_device_desktop_90d,
        count(case when device = 'tablet' then 1 end) as n_device_tablet_90d,
        count(case when device = 'ctv' then 1 end) as n_device_ctv_90d,
        count(case when device = 'unknown' then 1 end) as n_device_unknown_90d,
        count(*) as n_events_90d,
        coalesce(bit_or(case when days_ago <= 63 then 1::bigint << (days_ago - 1) end), 0) as active_days_mask_1_63,
        coalesce(bit_or(case when days_ago > 63 then 1::bigint << (days_ago - 64) end), 0) as active_days_mask_64_90
    from events
    group by person_id
),

-- Window masks over active_days_mask_1_63: 7 keeps days 1-3, 127 days 1-7, 16383 days 1-14,
-- 1073741823 days 1-30; shifted right by 7, 2097151 keeps days 8-28 (the prior 21 days).
per_person as (
    select
        *,
        n_view_3d + n_video_progress_3d + n_click_3d + n_share_3d + n_reaction_3d + n_comment_3d as n_engagements_3d,
        n_view_7d + n_video_progress_7d + n_click_7d + n_share_7d + n_reaction_7d + n_comment_7d as n_engagements_7d,
        n_view_14d + n_video_progress_14d + n_click_14d + n_share_14d + n_reaction_14d + n_comment_14d as n_engagements_14d,
        n_view_30d + n_video_progress_30d + n_click_30d + n_share_30d + n_reaction_30d + n_comment_30d as n_engagements_30d,
        n_view_90d + n_video_progress_90d + n_click_90d + n_share_90d + n_reaction_90d + n_comment_90d as n_engagements_90d,
        bit_count(active_days_mask_1_63 & 7) as active_days_3d,
        bit_count(active_days_mask_1_63 & 127) as active_days_7d,
        bit_count(active_days_mask_1_63 & 16383) as active_days_14d,
        bit_count(active_days_mask_1_63 & 1073741823) as active_days_30d,
        bit_count(active_days_mask_1_63) + bit_count(active_days_mask_64_90) as active_days_90d,
        bit_count((active_days_mask_1_63 >> 7) & 2097151) as active_days_prior_21d
    from per_person_counts
),

final as (
    select
        per_person.person_id,
        $as_of::date as as_of_date,
        n_impression_3d,
        n_view_3d,
        n_video_progress_3d,
        n_click_3d,
        n_share_3d,
        n_reaction_3d,
        n_comment_3d,
        n_engagements_3d,
        n_intent_3d,
        active_days_3d,
        watch_seconds_3d,
        n_impression_7d,
        n_view_7d,
        n_video_progress_7d,
        n_click_7d,
        n_share_7d,
        n_reaction_7d,
        n_comment_7d,
        n_engagements_7d,
        n_intent_7d,
        active_days_7d,
        watch_seconds_7d,
        n_impression_14d,
        n_view_14d,
        n_video_progress_14d,
        n_click_14d,
        n_share_14d,
        n_reaction_14d,
        n_comment_14d,
        n_engagements_14d,
        n_intent_14d,
        active_days_14d,
        watch_seconds_14d,
        n_impression_30d,
        n_view_30d,
        n_video_progress_30d,
        n_click_30d,
        n_share_30d,
        n_reaction_30d,
        n_comment_30d,
        n_engagements_30d,
        n_intent_30d,
        active_days_30d,
        watch_seconds_30d,
        n_impression_90d,
        n_view_90d,
        n_video_progress_90d,
        n_click_90d,
        n_share_90d,
        n_reaction_90d,
        n_comment_90d,
        n_engagements_90d,
        n_intent_90d,
        active_days_90d,
        watch_seconds_90d,
        n_engagements_7d / nullif(n_impression_7d, 0) as engagement_rate_7d,
        n_click_7d / nullif(n_impression_7d + n_view_7d, 0) as click_rate_7d,
        n_view_7d / nullif(n_impression_7d, 0) as view_rate_7d,
        n_engagements_30d / nullif(n_impression_30d, 0) as engagement_rate_30d,
        n_click_30d / nullif(n_impression_30d + n_view_30d, 0) as click_rate_30d,
        n_view_30d / nullif(n_impression_30d, 0) as view_rate_30d,
        n_engagements_90d / nullif(n_impression_90d, 0) as engagement_rate_90d,
        n_click_90d / nullif(n_impression_90d + n_view_90d, 0) as click_rate_90d,
        n_view_90d / nullif(n_impression_90d, 0) as view_rate_90d,
        (n_engagements_7d + 1) / (n_engagements_prior_21d / 3 + 1) as trend_engagements_7d_vs_prior_21d,
        (active_days_7d + 1) / (active_days_prior_21d / 3 + 1) as trend_active_days_7d_vs_prior_21d,
        (n_engagements_7d + 1) / (n_engagements_90d * 7 / 90 + 1) as trend_engagements_7d_vs_90d,
        (n_impression_7d + 1) / (n_impression_90d * 7 / 90 + 1) as trend_impressions_7d_vs_90d,
        (n_engagements_14d + 1) / (n_engagements_90d * 14 / 90 + 1) as trend_engagements_14d_vs_90d,
        (n_impression_14d + 1) / (n_impression_90d * 14 / 90 + 1) as trend_impressions_14d_vs_90d,
        (n_channel_meta_90d > 0)::integer + (n_channel_instagram_90d > 0)::integer + (n_channel_youtube_90d > 0)::integer + (n_channel_google_90d > 0)::integer + (n_channel_tiktok_90d > 0)::integer + (n_channel_linkedin_90d > 0)::integer + (n_channel_snapchat_90d > 0)::integer + (n_channel_schibsted_90d > 0)::integer + (n_channel_bonnier_90d > 0)::integer + (n_channel_programmatic_90d > 0)::integer + (n_channel_web_90d > 0)::integer + (n_channel_email_90d > 0)::integer as n_channels_90d,
        n_channel_meta_90d / n_events_90d as channel_share_90d__meta,
        n_channel_instagram_90d / n_events_90d as channel_share_90d__instagram,
        n_channel_youtube_90d / n_events_90d as channel_share_90d__youtube,
        n_channel_google_90d / n_events_90d as channel_share_90d__google,
        n_channel_tiktok_90d / n_events_90d as channel_share_90d__tiktok,
        n_channel_linkedin_90d / n_events_90d as channel_share_90d__linkedin,
        n_channel_snapchat_90d / n_events_90d as channel_share_90d__snapchat,
        n_channel_schibsted_90d / n_events_90d as channel_share_90d__schibsted,
        n_channel_bonnier_90d / n_events_90d as channel_share_90d__bonnier,
        n_channel_programmatic_90d / n_events_90d as channel_share_90d__programmatic,
        n_channel_web_90d / n_events_90d as channel_share_90d__web,
        n_channel_email_90d / n_events_90d as channel_share_90d__email,
        n_device_mobile_90d / n_events_90d as device_share_90d__mobile,
        n_device_desktop_90d / n_events_90d as device_share_90d__desktop,
        n_device_tablet_90d / n_events_90d as device_share_90d__tablet,
        n_device_ctv_90d / n_events_90d as device_share_90d__ctv,
        n_device_unknown_90d / n_events_90d as device_share_90d__unknown
    from per_person
    inner join eligible on eligible.person_id = per_person.person_id
)

select * from final;
