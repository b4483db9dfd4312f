-- journey_predictions: one row per customer whose journey is open at the data cutoff (grain:
-- customer_id): their last stage visit began less than the window ($predict_window_s) before the
-- data's last event (docs/semantics.md, "Predictions for open journeys").
-- current_stage and time_in_stage_s: the last visit's stage and the seconds from entering it to the
-- cutoff; bucket_start_s / bucket_end_s: the time bucket of goal_rates it falls in.
-- likely_next_stage / likely_next_probability: the most likely next stage ('(end)' included) from
-- stage_next, via stage_chain. p_goal_window: the probability of a visit of the goal stage within
-- the window from the cutoff: goal_rates' 'current' rate for the stage and bucket when it rests on
-- at least $min_reference_visits reference visits (basis 'stage_and_time'), else the stage's
-- overall rate (basis 'stage'), else null (no reference visit at all); reference_visits: the visits
-- behind the rate used. p_goal_eventually: the chain's probability of ever reaching the goal.
with

cutoff as (
    select epoch(max(event_ts)) as cutoff_s from classified_events
),

last_visits as (
    select
        v.customer_id,
        v.stage,
        v.stage_order,
        v.entered_at,
        c.cutoff_s - epoch(v.entered_at) as time_in_stage_s
    from visit_outcomes as v
    cross join cutoff as c
    where v.stayed_s is null
        and c.cutoff_s - epoch(v.entered_at) < $predict_window_s
),

rates as (
    select * from goal_rates where fit = 'current'
),

placed as (
    select
        l.*,
        r.bucket_start_s,
        r.bucket_end_s,
        r.reference_visits as cell_visits,
        r.rate as cell_rate,
        s.reference_visits as stage_visits,
        s.rate as stage_rate
    from last_visits as l
    left join rates as r on r.stage = l.stage and r.bucket_start_s <= l.time_in_stage_s
        and (r.bucket_end_s is null or l.time_in_stage_s < r.bucket_end_s)
    left join rates as s on s.stage = l.stage and s.bucket = 1
)

select
    p.customer_id,
    p.stage as current_stage,
    p.stage_order,
    p.entered_at,
    p.time_in_stage_s,
    p.bucket_start_s,
    p.bucket_end_s,
    ch.likely_next_stage,
    ch.likely_next_probability,
    case
        when p.cell_visits >= $min_reference_visits then p.cell_rate
        when p.stage_visits > 0 then p.stage_rate
    end as p_goal_window,
    case
        when p.cell_visits >= $min_reference_visits then 'stage_and_time'
        when p.stage_visits > 0 then 'stage'
    end as basis,
    case
        when p.cell_visits >= $min_reference_visits then p.cell_visits
        else coalesce(p.stage_visits, 0)
    end as reference_visits,
    ch.p_goal as p_goal_eventually
from placed as p
left join stage_chain as ch on ch.stage = p.stage
