-- funnel_customer_steps: for each unit (customer, deal or session: funnel.unit) that entered the
-- funnel, one row per step reached (grain: unit_id, step), from its best attempt in funnel_attempts: the furthest step
-- counts, and its times come from the latest attempt that reaches it (a new step-1 event
-- re-anchors an attempt that has not progressed). is_complete: the entry's window ended
-- by the data's last event (data_cutoff) (otherwise the customer may still convert). ttc_s: seconds from
-- this step's event to the next step's, null at the last step reached, where either event is
-- missing (implied steps) or the next came earlier (furthest mode).
with

reach as (
    select unit_id, attempt, any_value(customer_id) as customer_id, max(step) as furthest,
        any_value(entered_at) as entered_at
    from funnel_attempts
    group by unit_id, attempt
),

best as (
    select unit_id, customer_id, attempt
    from reach
    qualify row_number() over (partition by unit_id order by furthest desc, entered_at desc, attempt desc) = 1
),

chosen as (
    select
        a.unit_id,
        b.customer_id,
        a.step,
        a.stage,
        a.event_id,
        a.event_ts,
        a.entered_at,
        lead(a.event_ts) over (partition by a.unit_id order by a.step) as next_event_ts
    from funnel_attempts as a
    join best as b on b.unit_id = a.unit_id and b.attempt = a.attempt
)

select
    unit_id,
    customer_id,
    step,
    stage,
    event_id,
    event_ts,
    entered_at,
    entered_at + to_seconds($window_s) <= (select cutoff_ts from data_cutoff) as is_complete,
    case when next_event_ts >= event_ts then epoch(next_event_ts) - epoch(event_ts) end as ttc_s
from chosen
