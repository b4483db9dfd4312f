-- stage_visits: one row per stage visit (grain: customer_id, visit_index).
-- A visit is a run of consecutive staged events of one stage in the customer's total order
-- (event_ts, stage_order, event_id); events without a stage neither start nor break a visit.
-- left_at is when the next visit began (null for the current, last visit).
with

staged as (
    select customer_id, event_id, event_ts, stage, stage_order, channel
    from classified_events
    where stage is not null
),

marked as (
    select
        *,
        row_number() over w as pos,
        case when lag(stage_order) over w is distinct from stage_order then 1 else 0 end as is_new_visit
    from staged
    window w as (partition by customer_id order by event_ts, stage_order, event_id)
),

numbered as (
    select
        *,
        sum(is_new_visit) over (
            partition by customer_id order by pos
            rows between unbounded preceding and current row
        ) as visit_index
    from marked
),

visits as (
    select
        customer_id,
        visit_index,
        any_value(stage) as stage,
        any_value(stage_order) as stage_order,
        min(event_ts) as entered_at,
        max(event_ts) as last_event_at,
        count(*) as n_events,
        arg_min(event_id, pos) as first_event_id,
        arg_max(event_id, pos) as last_event_id
    from numbered
    group by customer_id, visit_index
)

select
    customer_id,
    visit_index,
    stage,
    stage_order,
    entered_at,
    last_event_at,
    lead(entered_at) over (partition by customer_id order by visit_index) as left_at,
    n_events,
    first_event_id,
    last_event_id
from visits
