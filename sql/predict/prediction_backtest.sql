-- prediction_backtest: one row per customer whose journey was open at the back-test cutoff, the
-- data cutoff minus the window (grain: customer_id): what journey_predictions would have said then,
-- from goal_rates' 'backtest' fit (only what was known at that moment), and what happened next
-- (docs/semantics.md, "Honest quality"). A journey is open when its last visit entered by the
-- back-test cutoff began less than the window before it. p_model: the stage-and-time rate (at least
-- $min_reference_visits reference visits, else the stage's rate, as in journey_predictions);
-- p_baseline: the stage's overall rate (the naive baseline); both null when the stage had no
-- reference visit. reached_goal: a visit of the goal stage began within the window after the
-- back-test cutoff (that window ends at the data cutoff, so every outcome is known).
with

cutoff as (
    select epoch(max(event_ts)) - $predict_window_s as fit_s from classified_events
),

as_of as (
    select v.customer_id, v.visit_index, v.stage, v.stage_order, v.entered_at, v.next_goal_at, c.fit_s
    from visit_outcomes as v
    cross join cutoff as c
    where epoch(v.entered_at) <= c.fit_s
    qualify row_number() over (partition by v.customer_id order by v.visit_index desc) = 1
),

open_then as (
    select *, fit_s - epoch(entered_at) as time_in_stage_s
    from as_of
    where fit_s - epoch(entered_at) < $predict_window_s
),

rates as (
    select * from goal_rates where fit = 'backtest'
),

placed as (
    select
        o.*,
        r.bucket,
        r.reference_visits as cell_visits,
        r.rate as cell_rate,
        s.reference_visits as stage_visits,
        s.rate as stage_rate
    from open_then as o
    left join rates as r on r.stage = o.stage and r.bucket_start_s <= o.time_in_stage_s
        and (r.bucket_end_s is null or o.time_in_stage_s < r.bucket_end_s)
    left join rates as s on s.stage = o.stage and s.bucket = 1
)

select
    customer_id,
    stage,
    stage_order,
    time_in_stage_s,
    bucket,
    case
        when cell_visits >= $min_reference_visits then cell_rate
        when stage_visits > 0 then stage_rate
    end as p_model,
    case when stage_visits > 0 then stage_rate end as p_baseline,
    coalesce(epoch(next_goal_at) <= fit_s + $predict_window_s, false) as reached_goal
from placed
