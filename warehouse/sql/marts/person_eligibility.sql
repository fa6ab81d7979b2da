-- grain: one row per person ever seen in the events
-- key: person_id
-- The latest known consent decides (contract §1); on a tie in time, withdrawal wins (then the
-- smallest event_id). No sort over every event, and no struct-valued arg_min either (its
-- per-person state with strings dominated the build at 1e8 events): latest_key packs the event
-- time in microseconds and the withdrawal flag into one bigint whose max is the deciding event
-- (time first, withdrawal on a tie). The id_type of that event needs the event_id tie-break
-- only for the rare person whose events carry more than one id_type; only those persons' events
-- go through the full arg_min.
create or replace view marts.person_eligibility as
with per_person as (
    select
        person_id,
        max(epoch_us(occurred_at) * 2 + (not consent)::bigint) as latest_key,
        min(id_type) as min_id_type,
        max(id_type) as max_id_type
    from raw.events
    group by person_id
),

mixed_id_types as (
    select
        events.person_id,
        arg_min(
            events.id_type,
            (-(epoch_us(events.occurred_at) * 2 + (not events.consent)::bigint), events.event_id)
        ) as id_type
    from raw.events as events
    semi join per_person
        on per_person.person_id = events.person_id
        and per_person.min_id_type <> per_person.max_id_type
    group by events.person_id
),

suppressed as (
    select person_key from raw.suppressed_persons
),

final as (
    select
        per_person.person_id,
        coalesce(mixed_id_types.id_type, per_person.min_id_type) as id_type,
        per_person.latest_key & 1 = 0 as latest_consent,
        make_timestamp(per_person.latest_key >> 1) as last_event_at,
        suppressed.person_key is not null as is_suppressed,
        per_person.latest_key & 1 = 0 and suppressed.person_key is null as is_eligible
    from per_person
    left join mixed_id_types on mixed_id_types.person_id = per_person.person_id
    left join suppressed on suppressed.person_key = sha256(per_person.person_id)
)

select * from final;
