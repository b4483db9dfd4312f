-- stage_next: one row per from-stage and next stage (grain: from_stage, to_stage): where a stage
-- visit leads (docs/semantics.md, "Next-stage probabilities"). Over the complete visits of
-- visit_outcomes (entered at least the window before the data cutoff), each counted once: to the
-- stage of the next visit if it began within the window, else to '(end)'. Visits younger than
-- the window are open and left out of every count. visits: the from-stage's complete visits (the
-- denominator); transitions: those that went to_stage; probability = transitions / visits, so the
-- probabilities of one from_stage sum to 1; customers: distinct customers behind the transitions;
-- median_gap_s: seconds from entering the visit to entering the next (null for '(end)').
-- The '(start)' rows are every customer's first visit: where journeys begin (no window applies).
-- kind: start, forward, skip, back, end, as in stage_transitions.
with

moves as (
    select
        stage as from_stage,
        stage_order as from_order,
        next_stage as to_stage,
        next_order as to_order,
        count(*) as transitions,
        count(distinct customer_id) as customers,
        median(gap_s) as median_gap_s
    from visit_outcomes
    where is_complete
    group by stage, stage_order, next_stage, next_order
),

starts as (
    select
        '(start)' as from_stage,
        cast(null as bigint) as from_order,
        stage as to_stage,
        stage_order as to_order,
        count(*) as transitions,
        count(distinct customer_id) as customers,
        cast(null as double) as median_gap_s
    from visit_outcomes
    where visit_index = 1
    group by stage, stage_order
),

cells as (
    select * from moves
    union all
    select * from starts
)

select
    from_stage,
    from_order,
    to_stage,
    to_order,
    case
        when from_order is null then 'start'
        when to_order is null then 'end'
        when to_order = from_order + 1 then 'forward'
        when to_order > from_order + 1 then 'skip'
        else 'back'
    end as kind,
    cast(sum(transitions) over (partition by from_stage) as bigint) as visits,
    transitions,
    customers,
    transitions / sum(transitions) over (partition by from_stage) as probability,
    median_gap_s
from cells
