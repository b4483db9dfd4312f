-- stage_transitions: one row per move between consecutive stage visits of a customer
-- (grain: customer_id, transition_index), plus a 'start' row into the first visit and an
-- 'end' row out of the last, so the rows read as a flow.
-- kind: forward (next stage), skip (jumps over stages), back (to an earlier stage: a back-step).
-- With journey.back_step_min_gap ($back_step_min_gap_s, null: off) a move to an earlier stage that
-- comes less than that after the from-visit's last event (the same session) is a 'revisit', not a
-- back-step (loops, barriers and journeys.n_back_steps count only 'back').
-- gap_s: seconds from entering the from-stage visit to entering the to-stage visit.
with

visits as (
    select * from stage_visits
),

paired as (
    select
        customer_id,
        visit_index,
        lag(stage) over w as from_stage,
        lag(stage_order) over w as from_order,
        lag(entered_at) over w as from_entered_at,
        lag(last_event_at) over w as from_last_event_at,
        stage as to_stage,
        stage_order as to_order,
        entered_at
    from visits
    window w as (partition by customer_id order by visit_index)
),

moves as (
    select
        customer_id,
        visit_index as transition_index,
        coalesce(from_stage, '(start)') as from_stage,
        from_order,
        to_stage,
        to_order,
        case
            when from_order is null then 'start'
            when to_order = from_order + 1 then 'forward'
            when to_order > from_order + 1 then 'skip'
            when epoch(entered_at) - epoch(from_last_event_at) < $back_step_min_gap_s then 'revisit'
            else 'back'
        end as kind,
        entered_at as transitioned_at,
        epoch(entered_at) - epoch(from_entered_at) as gap_s
    from paired
),

ends as (
    select
        customer_id,
        max(visit_index) + 1 as transition_index,
        arg_max(stage, visit_index) as from_stage,
        arg_max(stage_order, visit_index) as from_order,
        '(end)' as to_stage,
        cast(null as integer) as to_order,
        'end' as kind,
        cast(null as timestamp) as transitioned_at,
        cast(null as double) as gap_s
    from visits
    group by customer_id
)

select * from moves
union all
select * from ends
