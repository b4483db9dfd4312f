-- loops: one row per back-edge j -> i with i < j (grain: from_stage, to_stage), i.e. every
-- 'back' cell of the transition matrix; an occurrence is one 'back' row of stage_transitions.
-- customers: distinct customers who made the back-step; occurrences: how many times it was made.
-- share_of_visitors: customers / customers with at least one visit of stage j.
-- resolved_share: per occurrence: resolved occurrences / occurrences, where an occurrence is
-- resolved when the customer has a later visit (after the back-step) of a stage of order >= j,
-- abandoned otherwise.
-- median_return_s: median over resolved occurrences of the seconds from the back-step (entry of
-- the visit of i) to the entry of the first later visit of a stage of order >= j; null if none.
-- Converted customer: journeys.converted, i.e. the customer (their best unit) reached the main
-- funnel's goal step, its last step, under the funnel's mode, window, sub-range, entry range and
-- unit: the one meaning of "converted" (docs/semantics.md).
-- looper_conversion: converted share of the customers who made this back-step.
-- non_looper_conversion: converted share of the customers who visited j and never made a
-- back-step out of j (to any stage); null when there are none.
-- conversion_lift: looper_conversion - non_looper_conversion.
with

visits as (
    select * from stage_visits
),

backs as (
    select
        customer_id,
        transition_index,
        from_stage,
        from_order,
        to_stage,
        to_order,
        transitioned_at
    from stage_transitions
    where kind = 'back'
),

converted_customers as (
    select customer_id
    from journeys
    where converted
),

returns as (
    select
        b.customer_id,
        b.transition_index,
        arg_min(v.entered_at, v.visit_index) as returned_at
    from backs as b
    join visits as v
        on v.customer_id = b.customer_id
        and v.visit_index > b.transition_index
        and v.stage_order >= b.from_order
    group by b.customer_id, b.transition_index
),

occurrences as (
    select
        b.customer_id,
        b.from_stage,
        b.from_order,
        b.to_stage,
        b.to_order,
        r.returned_at is not null as is_resolved,
        epoch(r.returned_at) - epoch(b.transitioned_at) as return_s,
        cc.customer_id is not null as is_converted
    from backs as b
    left join returns as r
        on r.customer_id = b.customer_id
        and r.transition_index = b.transition_index
    left join converted_customers as cc on cc.customer_id = b.customer_id
),

stage_visitors as (
    select distinct customer_id, stage
    from visits
),

visitors as (
    select
        stage,
        count(*) as visitors
    from stage_visitors
    group by stage
),

backed_out as (
    select distinct customer_id, from_stage as stage
    from backs
),

non_loopers as (
    select
        sv.stage,
        count(*) as non_loopers,
        count(cc.customer_id) as non_loopers_converted
    from stage_visitors as sv
    left join backed_out as bo
        on bo.customer_id = sv.customer_id
        and bo.stage = sv.stage
    left join converted_customers as cc on cc.customer_id = sv.customer_id
    where bo.customer_id is null
    group by sv.stage
),

edges as (
    select
        from_stage,
        from_order,
        to_stage,
        to_order,
        count(distinct customer_id) as customers,
        count(*) as occurrences,
        count(*) filter (where is_resolved) as resolved,
        median(return_s) filter (where is_resolved) as median_return_s,
        count(distinct customer_id) filter (where is_converted) as loopers_converted
    from occurrences
    group by from_stage, from_order, to_stage, to_order
),

rated as (
    select
        e.from_stage,
        e.from_order,
        e.to_stage,
        e.to_order,
        e.customers,
        e.occurrences,
        e.customers / v.visitors as share_of_visitors,
        e.resolved / e.occurrences as resolved_share,
        e.median_return_s,
        e.loopers_converted / e.customers as looper_conversion,
        n.non_loopers_converted / nullif(n.non_loopers, 0) as non_looper_conversion
    from edges as e
    join visitors as v on v.stage = e.from_stage
    left join non_loopers as n on n.stage = e.from_stage
)

select
    from_stage,
    from_order,
    to_stage,
    to_order,
    customers,
    occurrences,
    share_of_visitors,
    resolved_share,
    median_return_s,
    looper_conversion,
    non_looper_conversion,
    looper_conversion - non_looper_conversion as conversion_lift
from rated
