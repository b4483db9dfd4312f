-- predict_facts: one row of facts about a run's predictions and attribution, for its warnings
-- (cjm_pipeline.predict.run_warnings): the goal stage and its visits, converters with and without
-- a touchpoint with a channel, the channels seen, the stages the chain has no outcome for, and the
-- back-test's customers, those who reached the goal and the Brier scores.
with

goal as (
    select arg_max(stage, step) as goal_stage from cfg_funnel_steps
),

converters as (
    select
        count(distinct customer_id) as converters,
        count(distinct customer_id) filter (where channel = '(none)') as converters_without_channel
    from attribution_touches
),

channels as (
    select count(distinct to_state) as channels, min(to_state) as only_channel
    from attribution_paths
    where to_state not in ('(start)', '(conversion)', '(null)', '(none)')
),

quality as (
    select
        max(customers) filter (where model = 'model') as scored,
        max(reached_goal) filter (where model = 'model') as reached_goal_scored,
        bool_or(beats_baseline) filter (where model = 'model') as beats_baseline,
        max(brier) filter (where model = 'model') as brier_model,
        max(brier) filter (where model = 'baseline') as brier_baseline
    from prediction_quality
)

select
    g.goal_stage,
    (select count(*) from visit_outcomes where is_goal) as goal_visits,
    v.converters,
    v.converters_without_channel,
    h.channels,
    h.only_channel,
    (select string_agg(stage, ', ' order by stage_order) from stage_chain where not in_chain) as stages_without_outcome,
    (select count(*) from stage_chain where in_chain and not is_goal) as stages_in_chain,
    q.scored,
    q.reached_goal_scored,
    q.beats_baseline,
    q.brier_model,
    q.brier_baseline
from goal as g
cross join converters as v
cross join channels as h
cross join quality as q
