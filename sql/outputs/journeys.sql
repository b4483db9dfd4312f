-- journeys: one row per customer (grain: customer_id): when they were seen, their stage path
-- (consecutive visits, e.g. 'awareness>interest>consideration>interest>purchase'), furthest
-- and current stage, back-steps and skips, how far they got in the funnel, and their
-- touchpoints per source ('crm=3;web=12', sources in name order).
with

customers as (
    select
        customer_id,
        min(event_ts) as first_seen,
        max(event_ts) as last_seen,
        count(*) as n_events,
        count(stage) as n_staged_events,
        arg_min(channel, (event_ts, event_id)) filter (where channel is not null) as first_channel,
        arg_max(channel, (event_ts, event_id)) filter (where channel is not null) as last_channel
    from classified_events
    group by customer_id
),

sources as (
    select customer_id, string_agg(source || '=' || n, ';' order by source) as touchpoints_by_source
    from (select customer_id, source, count(*) as n from classified_events group by customer_id, source)
    group by customer_id
),

paths as (
    select
        customer_id,
        count(*) as n_visits,
        string_agg(stage, '>' order by visit_index) as stage_path,
        arg_min(stage, visit_index) as first_stage,
        arg_max(stage, visit_index) as current_stage,
        arg_max(stage, stage_order) as furthest_stage,
        max(stage_order) as furthest_stage_order
    from stage_visits
    group by customer_id
),

moves as (
    select
        customer_id,
        count(*) filter (where kind = 'back') as n_back_steps,
        count(*) filter (where kind = 'skip') as n_skips
    from stage_transitions
    group by customer_id
),

funnel_units as (
    select
        unit_id,
        any_value(customer_id) as customer_id,
        max(step) as funnel_step,
        arg_max(stage, step) as funnel_stage,
        min(entered_at) as funnel_entered_at,
        epoch(arg_max(event_ts, step)) - epoch(min(entered_at)) as last_step_s
    from funnel_customer_steps
    group by unit_id
),

-- the customer's best unit (with funnel.unit customer, the customer itself): furthest, then latest
funnel_reach as (
    select *
    from funnel_units
    qualify row_number() over (
        partition by customer_id order by funnel_step desc, funnel_entered_at desc, unit_id desc
    ) = 1
),

last_step as (
    select max(step) as n_steps from cfg_funnel_steps
)

select
    c.customer_id,
    c.first_seen,
    c.last_seen,
    c.n_events,
    c.n_staged_events,
    coalesce(p.n_visits, 0) as n_visits,
    p.stage_path,
    p.first_stage,
    p.furthest_stage,
    p.furthest_stage_order,
    p.current_stage,
    coalesce(m.n_back_steps, 0) as n_back_steps,
    coalesce(m.n_skips, 0) as n_skips,
    coalesce(f.funnel_step, 0) as funnel_step_reached,
    f.funnel_stage as funnel_stage_reached,
    f.funnel_entered_at,
    coalesce(f.funnel_step = l.n_steps, false) as converted,
    case when f.funnel_step = l.n_steps then f.last_step_s end as time_to_convert_s,
    c.first_channel,
    c.last_channel,
    s.touchpoints_by_source
from customers as c
cross join last_step as l
left join sources as s on s.customer_id = c.customer_id
left join paths as p on p.customer_id = c.customer_id
left join moves as m on m.customer_id = c.customer_id
left join funnel_reach as f on f.customer_id = c.customer_id
