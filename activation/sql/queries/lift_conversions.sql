-- grain: one row per group of the registered relation `measured_persons` (treated, holdout)
-- key: group_name
-- A unit (a targeted id, or a held-out person) converted when one of its persons converted
-- (`converted_persons`: lift_converted_persons.sql's rows of every place). A unit's persons may
-- live in different shards, so units are counted here, after the persons are gathered.
with members as (
    select group_name, unit_id, person_id from measured_persons
),

converted as (
    select distinct person_id from converted_persons
),

per_unit as (
    select
        members.group_name,
        members.unit_id,
        bool_or(converted.person_id is not null) as has_converted
    from members
    left join converted on converted.person_id = members.person_id
    group by members.group_name, members.unit_id
),

final as (
    select
        group_name,
        count(*) as n_persons,
        count(*) filter (where has_converted) as n_converted
    from per_unit
    group by group_name
)

select * from final order by group_name;
