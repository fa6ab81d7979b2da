-- grain: one row per report date, dimension (content, theme, campaign) and item
-- key: (as_of_date, dimension, item_id)
-- The creative report (insight/creatives.py): aggregates only, no person id. Persons are those
-- scored before the exposure window and shown the item in it; "engaged" did more than see an
-- impression. Intent is the label (features/sql/person_label.sql) of the window after it.
-- adjusted_difference is the engaged persons' intent rate minus that of shown persons who did
-- not engage, within strata of the score before the exposure, weighted by engaged persons.
create table marts.creative_report (
    as_of_date date not null,
    dimension varchar not null check (dimension in ('content', 'theme', 'campaign')),
    item_id varchar not null,
    title varchar,
    kind varchar,
    n_shown bigint not null,
    n_engaged bigint not null,
    n_engaged_with_intent bigint not null,
    n_not_engaged bigint not null,
    n_not_engaged_with_intent bigint not null,
    engaged_intent_rate double,
    not_engaged_intent_rate double,
    raw_difference double,
    n_engaged_matched bigint not null,
    n_not_engaged_matched bigint not null,
    matched_engaged_intent_rate double,
    matched_comparison_intent_rate double,
    adjusted_difference double,
    adjusted_difference_se double,
    ci_low double,
    ci_high double,
    is_ranked boolean not null,
    rank integer,
    primary key (as_of_date, dimension, item_id)
);
