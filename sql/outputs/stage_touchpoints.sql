-- stage_touchpoints: what customers do at each stage (grain: stage, touchpoint; sorted by
-- stage_order, rank): the touchpoints (event type · source · channel) its visits are made of,
-- unstaged events during a visit included (visit_touchpoints). Per touchpoint: events, customers,
-- visits holding it, share (customers / the stage's visitors), forward_rate (of the visits holding
-- it, the share followed by a move to a later stage within the funnel window: the move out of the
-- visit is forward or a skip, entering the next visit at most window_s seconds after this visit's
-- entry), stage_forward_rate (the same over all the stage's visits) and lift = forward_rate -
-- stage_forward_rate. The last stage has no later stage: its rates are empty. The top
-- cfg_map.top_touchpoints by customers (then events, then touchpoint) are ranked 1..N; the rest
-- are summed into one '(other)' row.
with

touched as not materialized (
    select
        *,
        coalesce(moves_on_after_s <= $window_s, false) as moved_on
    from visit_touchpoints
),

last_stage as (
    select max(stage_order) as stage_order from cfg_stages
),

stage_totals as (
    select
        stage_order,
        count(*) as visits,
        count(distinct customer_id) as visitors,
        case
            when stage_order < (select stage_order from last_stage)
                then avg(case when moved_on then 1 else 0 end)
        end as stage_forward_rate
    from touched
    where opens_visit
    group by stage_order
),

per_touchpoint as (
    select
        stage_order,
        touchpoint,
        any_value(event_type) as event_type,
        any_value(source) as source,
        any_value(channel) as channel,
        cast(sum(events) as bigint) as events,
        count(distinct customer_id) as customers,
        count(*) as visits,
        avg(case when moved_on then 1 else 0 end) as forward_rate
    from touched
    group by stage_order, touchpoint
),

ranked as (
    select
        *,
        row_number() over (partition by stage_order order by customers desc, events desc, touchpoint) as rank
    from per_touchpoint
),

top_rows as (
    select stage_order, rank, touchpoint, event_type, source, channel, events, customers, visits, forward_rate
    from ranked
    where rank <= (select top_touchpoints from cfg_map)
),

other as (
    select
        t.stage_order,
        (select top_touchpoints from cfg_map) + 1 as rank,
        '(other)' as touchpoint,
        cast(null as varchar) as event_type,
        cast(null as varchar) as source,
        cast(null as varchar) as channel,
        cast(sum(t.events) as bigint) as events,
        count(distinct t.customer_id) as customers,
        count(distinct t.customer_id || '#' || cast(t.visit_index as varchar)) as visits,
        count(distinct case when t.moved_on then t.customer_id || '#' || cast(t.visit_index as varchar) end)
            as forward_visits
    from touched as t
    join ranked as r on r.stage_order = t.stage_order and r.touchpoint = t.touchpoint
    where r.rank > (select top_touchpoints from cfg_map)
    group by t.stage_order
),

listed as (
    select * from top_rows
    union all
    select stage_order, rank, touchpoint, event_type, source, channel, events, customers, visits,
        cast(forward_visits as double) / visits as forward_rate
    from other
)

select
    l.stage_order,
    c.stage,
    l.rank,
    l.touchpoint,
    l.event_type,
    l.source,
    l.channel,
    l.events,
    l.customers,
    l.visits,
    cast(l.customers as double) / s.visitors as share,
    case when s.stage_forward_rate is not null then l.forward_rate end as forward_rate,
    s.stage_forward_rate,
    case when s.stage_forward_rate is not null then l.forward_rate - s.stage_forward_rate end as lift
from listed as l
join stage_totals as s on s.stage_order = l.stage_order
join cfg_stages as c on c.stage_order = l.stage_order
