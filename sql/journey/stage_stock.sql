-- stage_stock: one row per day and configured stage, plus '(lapsed)' (grain: day, stage): the
-- active stock of each stage at the end of that UTC day, i.e. customers whose latest visit
-- entered on or before that day is in the stage and whose last event in that visit is at most
-- $stock_inactivity_s seconds (journey.stock_inactivity, default the funnel window) before the
-- end of the day. A customer inactive for longer leaves the stage's stock for '(lapsed)' (stage_order
-- null) until their next visit. Days run from the first visit entry to the last staged event.
-- How: a visit holds its customer in its stage over the days [entered_day, stop_day) and in
-- '(lapsed)' over [lapse_day, end_day): end_day is the day the next visit began (after the last
-- day for the current visit), lapse_day the day that starts after last_event_at + inactivity,
-- stop_day the earlier of the two. A visit followed by another on the same day holds no day. A
-- customer's visits hold disjoint days, so each hold adds +1 on its first day and -1 on its end
-- day, and the stock of a stage on a day is the running sum of its changes up to that day.
with

stages as (
    select stage, stage_order from cfg_stages
    union all
    select '(lapsed)' as stage, cast(null as integer) as stage_order
),

bounds as (
    select
        min(cast(entered_at as date)) as first_day,
        max(cast(last_event_at as date)) as last_day
    from stage_visits
),

days as (
    select cast(d.day as date) as day
    from bounds
    cross join unnest(generate_series(first_day, last_day, interval 1 day)) as d(day)
),

visits as (
    select
        v.stage,
        cast(v.entered_at as date) as entered_day,
        coalesce(cast(v.left_at as date), b.last_day + 1) as end_day,
        greatest(cast(v.last_event_at + to_seconds($stock_inactivity_s) as date), cast(v.entered_at as date))
            as lapse_day
    from stage_visits as v
    cross join bounds as b
),

holds as (
    select stage, entered_day as start_day, least(end_day, lapse_day) as stop_day
    from visits
    union all
    select '(lapsed)' as stage, lapse_day as start_day, end_day as stop_day
    from visits
    where lapse_day < end_day
),

deltas as (
    select start_day as day, stage, 1 as delta from holds where start_day < stop_day
    union all
    select stop_day as day, stage, -1 as delta from holds where start_day < stop_day
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
