-- grain: one row per feature build
-- key: (as_of_date, built_at)
-- What each build made, for `norrut status` and for spotting a build that profiled nobody.
create table features.feature_builds (
    as_of_date date not null,
    built_at timestamptz not null,
    feature_set_version varchar not null,
    persons bigint not null,
    seconds double not null
);
