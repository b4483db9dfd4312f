-- stage_outlook: one row per configured stage (grain: stage): where a visit of the stage leads, from
-- the absorbing chain of stage_next (stage_chain) and as observed (docs/semantics.md, "Outlook per
-- stage"). visits: complete visits (entered at least the window before the data cutoff);
-- recent_visits: younger ones, not counted. p_goal, expected_visits, expected_visits_to_goal,
-- likely_next_stage, likely_next_probability: the chain's (stage_chain); empty for a stage with no
-- complete visit. Observed over the complete visits: goal_visits, those followed by a visit of the
-- goal stage in the same segment (each next visit within the window of the previous one);
-- p_goal_observed = goal_visits / visits; median_time_to_goal_s, from entering the visit to entering
-- that goal visit. The goal stage itself has p_goal 1, expected visits 0 and time 0.
-- open_journeys: customers whose open journey is in the stage at the data cutoff (journey_predictions);
-- mean_p_goal_window: their mean probability of reaching the goal within the window.
with

stages as (
    select stage, stage_order from cfg_stages
),

observed as (
    select
        stage,
        count(*) filter (where is_complete) as visits,
        count(*) filter (where not is_complete) as recent_visits,
        count(*) filter (where is_complete and goal_at is not null) as goal_visits,
        median(epoch(goal_at) - epoch(entered_at)) filter (where is_complete) as median_time_to_goal_s
    from visit_outcomes
    group by stage
),

open_now as (
    select current_stage as stage, count(*) as open_journeys, avg(p_goal_window) as mean_p_goal_window
    from journey_predictions
    group by current_stage
)

select
    s.stage,
    s.stage_order,
    coalesce(c.is_goal, false) as is_goal,
    coalesce(o.visits, 0) as visits,
    coalesce(o.recent_visits, 0) as recent_visits,
    c.p_goal,
    c.expected_visits,
    c.expected_visits_to_goal,
    c.likely_next_stage,
    c.likely_next_probability,
    case when c.is_goal then coalesce(o.visits, 0) else coalesce(o.goal_visits, 0) end as goal_visits,
    case
        when c.is_goal then cast(1 as double)
        when o.visits > 0 then cast(o.goal_visits as double) / o.visits
    end as p_goal_observed,
    case when c.is_goal then cast(0 as double) else o.median_time_to_goal_s end as median_time_to_goal_s,
    coalesce(n.open_journeys, 0) as open_journeys,
    n.mean_p_goal_window
from stages as s
left join stage_chain as c on c.stage = s.stage
left join observed as o on o.stage = s.stage
left join open_now as n on n.stage = s.stage
