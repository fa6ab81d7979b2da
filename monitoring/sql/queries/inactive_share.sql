-- grain: exactly one row: the share of one scoring run's persons without any event in the 30
-- days before its as-of date
-- key: none
-- monitor_inactive: inactive_persons.sql's rows of every place (the file, or each shard).
with persons as (
    select is_inactive from monitor_inactive
),

final as (
    select coalesce(avg(is_inactive::integer), 0.0) as inactive_30d_share from persons
)

select * from final;
