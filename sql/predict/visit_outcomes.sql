-- visit_outcomes: one row per stage visit (grain: customer_id, visit_index) with what came after
-- it, as the predictions count it (docs/semantics.md, "Next-stage probabilities"). The window is
-- $predict_window_s (predict.window, default the funnel's window); the cutoff is the data's last event (data_cutoff).
-- next_stage: the stage of the next visit when it began within the window after entering this
-- one; '(end)' when none did and the window has ended by the cutoff; null while the visit is
-- open (its window has not ended and no next visit has come). gap_s: seconds from entering this
-- visit to entering the next, when next_stage is a stage. stayed_s: seconds to the next visit,
-- however late (null for the customer's last visit). is_complete: the window ended by the cutoff;
-- only complete visits are counted in stage_next and stage_outlook.
-- next_goal_at: entry of the customer's first later visit of the goal stage (the main funnel's last
-- step); goal_at: the same if it comes before the chain of visits breaks, i.e. before a later visit
-- that began more than the window after the one before it (a new segment of the journey).
with

cutoff as (
    select epoch(cutoff_ts) as cutoff_s from data_cutoff
),

goal as (
    select arg_max(stage, step) as goal_stage from cfg_funnel_steps
),

visits as (
    select
        v.customer_id,
        v.visit_index,
        v.stage,
        v.stage_order,
        v.entered_at,
        epoch(v.left_at) - epoch(v.entered_at) as stayed_s,
        lead(v.stage) over w as following_stage,
        lead(v.stage_order) over w as following_order,
        coalesce(v.stage = g.goal_stage, false) as is_goal,
        epoch(v.entered_at) + $predict_window_s <= c.cutoff_s as is_complete,
        coalesce(lag(epoch(v.left_at) - epoch(v.entered_at)) over w > $predict_window_s, false) as starts_segment
    from stage_visits as v
    cross join goal as g
    cross join cutoff as c
    window w as (partition by v.customer_id order by v.visit_index)
),

-- the next visit of the goal, and the next visit that starts a new segment (entered more than the
-- window after the one before it)
ahead as (
    select
        *,
        min(case when is_goal then entered_at end) over later as next_goal_at,
        min(case when starts_segment then entered_at end) over later as next_segment_at
    from visits
    window later as (partition by customer_id order by visit_index rows between 1 following and unbounded following)
)

select
    customer_id,
    visit_index,
    stage,
    stage_order,
    entered_at,
    case
        when stayed_s <= $predict_window_s then following_stage
        when is_complete then '(end)'
    end as next_stage,
    case when stayed_s <= $predict_window_s then following_order end as next_order,
    case when stayed_s <= $predict_window_s then stayed_s end as gap_s,
    stayed_s,
    is_complete,
    is_goal,
    case when next_segment_at is null or next_goal_at < next_segment_at then next_goal_at end as goal_at,
    next_goal_at
from ahead
