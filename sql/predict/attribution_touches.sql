-- attribution_touches: one row per touchpoint on a converter's path (grain: customer_id, pos)
-- (docs/semantics.md, "Attribution"). A touchpoint is an event with a channel. A converter is a
-- customer with an event of the goal stage (the main funnel's last step); the conversion is the
-- first such event, and the path runs from the customer's first event up to and including it in
-- the event order (event_ts, stage_order with unstaged events last, event_id). pos: 1 .. n_touches
-- along the path. A path without any touchpoint is one touch of the channel '(none)' (event_ts
-- null). conversion_at and revenue (the conversion event's revenue, 0 when it has none) are on
-- every row. Non-converters' paths are all their touchpoints: attribution_paths reads them.
with

goal as (
    select arg_max(stage, step) as goal_stage from cfg_funnel_steps
),

conversions as (
    select
        e.customer_id,
        e.event_ts as conversion_at,
        e.stage_order as conversion_order,
        e.event_id as conversion_event_id,
        coalesce(e.revenue, 0) as revenue
    from classified_events as e
    join goal as g on g.goal_stage = e.stage
    qualify row_number() over (partition by e.customer_id order by e.event_ts, e.stage_order, e.event_id) = 1
),

touches as (
    select e.customer_id, e.event_ts, e.stage_order, e.event_id, e.channel
    from conversions as c
    join classified_events as e on e.customer_id = c.customer_id
    where e.channel is not null
        and (e.event_ts < c.conversion_at
            or (e.event_ts = c.conversion_at and (e.stage_order < c.conversion_order
                or (e.stage_order = c.conversion_order and e.event_id <= c.conversion_event_id))))
),

numbered as (
    select
        customer_id,
        row_number() over (partition by customer_id order by event_ts, stage_order, event_id) as pos,
        count(*) over (partition by customer_id) as n_touches,
        channel,
        event_ts
    from touches
)

select
    c.customer_id,
    coalesce(n.pos, 1) as pos,
    coalesce(n.n_touches, 1) as n_touches,
    coalesce(n.channel, '(none)') as channel,
    n.event_ts,
    c.conversion_at,
    c.revenue
from conversions as c
left join numbered as n on n.customer_id = c.customer_id
