-- grain: one row per dimension and item shown to a scored person in the window
-- key: (dimension, item_id)
-- Per item, the persons shown it are cut into $strata strata at quantiles of their score before
-- the exposure. Within a stratum holding both groups, the engaged persons' intent rate is
-- compared with that of the shown persons who did not engage; the item's adjusted difference
-- weights those differences by the engaged persons in each stratum (the effect on the engaged,
-- as matching each engaged person to comparable non-engaged persons would estimate). Its
-- standard error treats strata as independent binomial samples, with each rate shrunk as
-- (intents + 1) / (persons + 2) so a stratum without intent still counts as uncertain. An item
-- is ranked when both groups have at least $min_persons matched persons, by the lower end of
-- its 95 % interval: a large difference measured on few persons does not outrank a slightly
-- smaller one that many persons support.
with stratified as (
    select
        dimension,
        item_id,
        is_engaged,
        label,
        ntile($strata::integer) over (
            partition by dimension, item_id order by score, person_id
        ) as stratum
    from creative_exposures
),

strata as (
    select
        dimension,
        item_id,
        stratum,
        count(*) filter (where is_engaged) as n1,
        count(*) filter (where is_engaged and label) as y1,
        count(*) filter (where not is_engaged) as n0,
        count(*) filter (where not is_engaged and label) as y0
    from stratified
    group by dimension, item_id, stratum
),

rated as (
    select
        *,
        n1 > 0 and n0 > 0 as is_matched,
        y1 / nullif(n1, 0)::double as p1,
        y0 / nullif(n0, 0)::double as p0,
        ((y1 + 1) / (n1 + 2)::double) * (1 - (y1 + 1) / (n1 + 2)::double) / nullif(n1, 0)
            as variance1,
        ((y0 + 1) / (n0 + 2)::double) * (1 - (y0 + 1) / (n0 + 2)::double) / nullif(n0, 0)
            as variance0
    from strata
),

items as (
    select
        dimension,
        item_id,
        sum(n1) + sum(n0) as n_shown,
        sum(n1) as n_engaged,
        sum(y1) as n_engaged_with_intent,
        sum(n0) as n_not_engaged,
        sum(y0) as n_not_engaged_with_intent,
        coalesce(sum(n1) filter (where is_matched), 0) as n_engaged_matched,
        coalesce(sum(n0) filter (where is_matched), 0) as n_not_engaged_matched,
        -- summed in stratum order: a floating-point sum depends on its order, and the order
        -- strata leave a parallel aggregate in does not stay the same from run to run
        list_sum(list(n1 * p1 order by stratum) filter (where is_matched)) as weighted_engaged,
        list_sum(list(n1 * p0 order by stratum) filter (where is_matched))
            as weighted_comparison,
        list_sum(list(n1 * n1 * (variance1 + variance0) order by stratum)
            filter (where is_matched)) as weighted_variance
    from rated
    group by dimension, item_id
),

estimated as (
    select
        *,
        n_engaged_with_intent / nullif(n_engaged, 0)::double as engaged_intent_rate,
        n_not_engaged_with_intent / nullif(n_not_engaged, 0)::double as not_engaged_intent_rate,
        weighted_engaged / nullif(n_engaged_matched, 0) as matched_engaged_intent_rate,
        weighted_comparison / nullif(n_engaged_matched, 0) as matched_comparison_intent_rate,
        sqrt(weighted_variance) / nullif(n_engaged_matched, 0) as adjusted_difference_se,
        n_engaged_matched >= $min_persons and n_not_engaged_matched >= $min_persons as is_ranked
    from items
),

final as (
    select
        dimension,
        item_id,
        n_shown,
        n_engaged,
        n_engaged_with_intent,
        n_not_engaged,
        n_not_engaged_with_intent,
        engaged_intent_rate,
        not_engaged_intent_rate,
        engaged_intent_rate - not_engaged_intent_rate as raw_difference,
        n_engaged_matched,
        n_not_engaged_matched,
        matched_engaged_intent_rate,
        matched_comparison_intent_rate,
        matched_engaged_intent_rate - matched_comparison_intent_rate as adjusted_difference,
        adjusted_difference_se,
        matched_engaged_intent_rate - matched_comparison_intent_rate
            - 1.959964 * adjusted_difference_se as ci_low,
        matched_engaged_intent_rate - matched_comparison_intent_rate
            + 1.959964 * adjusted_difference_se as ci_high,
        is_ranked,
        case when is_ranked then row_number() over (
            partition by dimension, is_ranked
            order by
                matched_engaged_intent_rate - matched_comparison_intent_rate
                    - 1.959964 * adjusted_difference_se desc,
                matched_engaged_intent_rate - matched_comparison_intent_rate desc,
                item_id
        ) end as rank
    from estimated
)

select * from final
