-- grain: one row per person ever seen in the events
-- key: person_id
-- The latest known consent decides (contract §1); on a tie in time, withdrawal wins.
create or replace view marts.person_eligibility as
with ranked as (
    select
        person_id,
        id_type,
        consent,
        occurred_at,
        row_number() over (
            partition by person_id order by occurred_at desc, consent asc, event_id
        ) as recency_rank
    from raw.events
),

latest as (
    select person_id, id_type, consent as latest_consent, occurred_at as last_event_at
    from ranked
    where recency_rank = 1
),

suppressed as (
    select person_key from raw.suppressed_persons
),

final as (
    select
        latest.person_id,
        latest.id_type,
        latest.latest_consent,
        latest.last_event_at,
        suppressed.person_key is not null as is_suppressed,
        latest.latest_consent and suppressed.person_key is null as is_eligible
    from latest
    left join suppressed on suppressed.person_key = sha256(latest.person_id)
)

select * from final;
