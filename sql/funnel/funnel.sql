-- funnel: one row per funnel step (grain: step), in the mode funnel_customer_steps was built with.
-- customers: units counted at the step: customers, or deals or sessions with funnel.unit (see
-- funnel_attempts__<chain|furthest>.sql for the definitions).
-- conversion_from_previous / conversion_from_start: fractions in [0, 1], null where the
-- denominator is 0 (and at step 1, which has no previous step).
-- dropped: customers(k) - customers(k+1); null at the last step. drop_off_rate = dropped / customers(k).
-- reached_any_order: units with at least one event of the stage, in any order.
-- implied: customers counted with no event of the stage (furthest mode only; 0 otherwise).
-- incomplete: customers at the step whose entry window is still open at the data's last event.
-- entered_midway: units whose first event of a funnel stage is of this step's stage (0 at step 1):
-- they entered the funnel mid-way (typically CRM-only or call-only customers); like
-- reached_any_order it ignores the window and the entry range. The ordered and strict modes count
-- such a unit at a step only after a step-1 event; the furthest mode counts it (steps implied).
-- ttc_*_s: seconds from this step's event to the next step's, over customers with both events
-- (in furthest mode, only where the next step's event came later).
with

steps as (
    select step, stage, stage_order from cfg_funnel_steps
),

reached as (
    select step, count(*) as customers, count(*) filter (where event_id is null) as implied,
        count(*) filter (where not is_complete) as incomplete
    from funnel_customer_steps
    group by step
),

step_times as (
    select step, ttc_s
    from funnel_customer_steps
    where ttc_s is not null
),

ttc as (
    select
        step,
        quantile_cont(ttc_s, 0.5) as ttc_median_s,
        quantile_cont(ttc_s, 0.25) as ttc_p25_s,
        quantile_cont(ttc_s, 0.75) as ttc_p75_s,
        quantile_cont(ttc_s, 0.9) as ttc_p90_s,
        avg(ttc_s) as ttc_mean_s
    from step_times
    group by step
),

first_steps as (
    select e.unit_id, arg_min(s.step, (e.event_ts, e.stage_order, e.event_id)) as first_step
    from funnel_events as e
    join steps as s on s.stage = e.stage
    group by e.unit_id
),

midway as (
    select first_step as step, count(*) as entered_midway
    from first_steps
    where first_step > 1
    group by first_step
),

any_order as (
    select stage, count(distinct unit_id) as reached_any_order
    from funnel_events
    where stage is not null
    group by stage
),

counted as (
    select
        s.step,
        s.stage_order,
        s.stage,
        coalesce(r.customers, 0) as customers,
        coalesce(r.implied, 0) as implied,
        coalesce(r.incomplete, 0) as incomplete,
        lag(coalesce(r.customers, 0)) over (order by s.step) as previous_customers,
        first_value(coalesce(r.customers, 0)) over (order by s.step) as start_customers,
        lead(coalesce(r.customers, 0)) over (order by s.step) as next_customers
    from steps as s
    left join reached as r on r.step = s.step
)

select
    c.step,
    c.stage_order,
    c.stage,
    c.customers,
    c.customers / nullif(c.previous_customers, 0) as conversion_from_previous,
    c.customers / nullif(c.start_customers, 0) as conversion_from_start,
    c.customers - c.next_customers as dropped,
    (c.customers - c.next_customers) / nullif(c.customers, 0) as drop_off_rate,
    coalesce(a.reached_any_order, 0) as reached_any_order,
    c.implied,
    c.incomplete,
    coalesce(m.entered_midway, 0) as entered_midway,
    t.ttc_median_s,
    t.ttc_p25_s,
    t.ttc_p75_s,
    t.ttc_p90_s,
    t.ttc_mean_s
from counted as c
left join any_order as a on a.stage = c.stage
left join ttc as t on t.step = c.step
left join midway as m on m.step = c.step
