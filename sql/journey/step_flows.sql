-- step_flows: the stage flow by step (grain: step, from_stage, to_stage), for the step-indexed
-- Sankey (as retentioneering's StepSankey and Amplitude's Journeys draw it): each customer's stage
-- visits are numbered 1, 2, 3, ... and a visit's number is its column, so a return to an earlier
-- stage is a later column, never a loop.
-- step: the number of the from-visit, 1 .. $flow_steps; from_stage / from_order: its stage.
-- to_stage / to_order: the stage of the customer's next visit; '(end)' (to_order null) when there
-- is none; at step $flow_steps, '(more)' when there is (the flow follows $flow_steps visits).
-- kind: forward, skip or back (by stage order, as stage_transitions without journey.back_step_min_gap),
-- end or more. customers: customers whose visit number `step` is of from_stage and whose next visit
-- is of to_stage; each customer counts once per step, so a step's rows add up to the customers
-- with at least `step` visits.
with

visits as (
    select customer_id, cast(visit_index as bigint) as visit_index, stage, stage_order
    from stage_visits
    where visit_index <= $flow_steps + 1
),

paired as (
    select
        v.visit_index as step,
        v.stage as from_stage,
        v.stage_order as from_order,
        n.stage as next_stage,
        n.stage_order as next_order
    from visits as v
    left join visits as n
        on n.customer_id = v.customer_id
        and n.visit_index = v.visit_index + 1
    where v.visit_index <= $flow_steps
),

moves as (
    select
        step,
        from_stage,
        from_order,
        case
            when next_stage is null then '(end)'
            when step = $flow_steps then '(more)'
            else next_stage
        end as to_stage,
        case when next_stage is not null and step < $flow_steps then next_order end as to_order,
        case
            when next_stage is null then 'end'
            when step = $flow_steps then 'more'
            when next_order = from_order + 1 then 'forward'
            when next_order > from_order + 1 then 'skip'
            else 'back'
        end as kind
    from paired
)

select
    step,
    from_stage,
    from_order,
    to_stage,
    to_order,
    kind,
    count(*) as customers
from moves
group by step, from_stage, from_order, to_stage, to_order, kind
