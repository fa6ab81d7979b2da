-- Adds the feature vector of every profiled person as of the build's date to
-- features.person_features (the build deletes that date's rows first, in the same transaction).
-- A person without recent activity has zero counts and shares (nothing happened), a trend of 1
-- (no change) and no rates or completion ratios (undefined, left null). Every feature is a
-- double, as the models see them. Joining straight into the insert spares one wide copy.
-- A template (features/feature_sql.py): its placeholder is one cast per feature of
-- features/catalog.py, from the table and with the value for an absent person it declares.
insert into features.person_features by name
with history as (
    select * from features.person_history
),

engagement as (
    select * from features.person_engagement_90d
),

themes as (
    select * from features.person_themes_90d
),

final as (
    select
        history.person_id,
        history.id_type,
        history.as_of_date,
        history.home_region,
        themes.top_municipality_shown_90d,
{feature_columns}
    from history
    left join engagement on engagement.person_id = history.person_id
    left join themes on themes.person_id = history.person_id
)

select * from final;
