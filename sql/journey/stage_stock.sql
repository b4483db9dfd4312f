-- stage_stock: one row per day and configured stage (grain: day, stage): customers whose
-- current stage at the end of that UTC day is the stage, i.e. the stage of their latest visit
-- entered on or before that day. Days run from the first to the last visit entry date; a
-- stage nobody is in on a day has 0. For cumulative-flow (stock) charts.
-- How: a visit holds its customer over the days [entered_day, end_day), end_day being the
-- day the next visit began (after the last day for the current visit); a visit followed by
-- another on the same day holds no day (its +1 and -1 cancel). A customer's visits hold
-- disjoint days, so each visit adds +1 on its first day and -1 on its end day, and the stock
-- of a stage on a day is the running sum of its changes up to that day.
with

stages as (
    select stage, stage_order from cfg_stages
),

bounds as (
    select
        min(cast(entered_at as date)) as first_day,
        max(cast(entered_at as date)) as last_day
    from stage_visits
),

days as (
    select cast(d.day as date) as day
    from bounds
    cross join unnest(generate_series(first_day, last_day, interval 1 day)) as d(day)
),

holds as (
    select
        v.stage,
        cast(v.entered_at as date) as entered_day,
        coalesce(cast(v.left_at as date), b.last_day + 1) as end_day
    from stage_visits as v
    cross join bounds as b
),

deltas as (
    select entered_day as day, stage, 1 as delta from holds
    union all
    select end_day as day, stage, -1 as delta from holds
),

net as (
    select
        d.day,
        s.stage_order,
        s.stage,
        coalesce(sum(x.delta), 0) as net_change
    from days as d
    cross join stages as s
    left join deltas as x on x.day = d.day and x.stage = s.stage
    group by d.day, s.stage_order, s.stage
)

select
    day,
    stage_order,
    stage,
    cast(sum(net_change) over (
        partition by stage order by day
        rows between unbounded preceding and current row
    ) as bigint) as customers
from net
