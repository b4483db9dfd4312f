-- stage_pains: what hurts at each stage (grain: stage, pain; sorted by stage_order, rank).
-- kind 'pain': a pains: rule (map_events), at the stage of the visit the event falls in (or the
-- rule's own stage); 'low_score': feedback answers at or below their entry's negative_max;
-- 'back_step': moves from the stage back to an earlier one (stage_transitions, kind back); and the
-- funnel's barriers other than back-steps (barriers: drop_off, slow_step, ...), whose value, share
-- (the barrier's rate), description and customers are the barrier's (for a drop-off, customers are
-- the units it loses, its value).
-- For the first three: events (occurrences), customers (distinct customers who hit it), share
-- (customers / the stage's visitors) and forward rates over the stage's visitors: a visitor moves
-- on when one of their visits of the stage is followed by a move to a later stage within the
-- funnel window (the move out of it is forward or a skip, with gap_s at most window_s);
-- forward_rate_hit over visitors who hit the pain at the stage, forward_rate_not_hit over the
-- others, lift = hit - not hit. Empty for the last stage, which has no later stage. Ranked within
-- the stage: the configured pains first, then low scores, back-steps and the funnel's barriers,
-- each by customers (then kind, then pain).
with

moves as (
    select
        v.customer_id,
        v.stage,
        v.stage_order,
        coalesce(t.kind in ('forward', 'skip') and t.gap_s <= $window_s, false) as moved_on
    from stage_visits as v
    left join stage_transitions as t on t.customer_id = v.customer_id and t.transition_index = v.visit_index + 1
),

last_stage as (
    select max(stage_order) as stage_order from cfg_stages
),

visitors as (
    select customer_id, stage, max(case when moved_on then 1 else 0 end) as moved_on
    from moves
    group by customer_id, stage
),

stage_totals as (
    select stage, count(*) as visitors from visitors group by stage
),

stages as (
    select stage, stage_order from cfg_stages
    union all
    select distinct stage, stage_order from map_events where stage_order = 0
),

hits as (
    select 'pain' as kind, name as pain, stage, customer_id from map_events where rule_set = 'pain'
    union all
    select 'low_score' as kind, 'low scores' as pain, stage, customer_id
    from map_events
    where rule_set = 'feedback' and is_negative
    union all
    select 'back_step' as kind, 'back-steps' as pain, from_stage as stage, customer_id
    from stage_transitions
    where kind = 'back'
),

counted as (
    select stage, kind, pain, count(*) as events, count(distinct customer_id) as customers
    from hits
    group by stage, kind, pain
),

hit_customers as (
    select distinct stage, kind, pain, customer_id from hits
),

rates as (
    select
        c.stage,
        c.kind,
        c.pain,
        avg(case when h.customer_id is not null then v.moved_on end) as forward_rate_hit,
        avg(case when h.customer_id is null then v.moved_on end) as forward_rate_not_hit
    from counted as c
    join visitors as v on v.stage = c.stage
    left join hit_customers as h
        on h.stage = c.stage and h.kind = c.kind and h.pain = c.pain and h.customer_id = v.customer_id
    group by c.stage, c.kind, c.pain
),

measured as (
    select
        c.stage,
        c.kind,
        c.pain,
        c.events,
        c.customers,
        cast(c.customers as double) / t.visitors as share,
        case when s.stage_order < (select stage_order from last_stage) then r.forward_rate_hit end
            as forward_rate_hit,
        case when s.stage_order < (select stage_order from last_stage) then r.forward_rate_not_hit end
            as forward_rate_not_hit,
        cast(null as double) as value,
        cast(null as varchar) as description
    from counted as c
    join stages as s on s.stage = c.stage
    left join stage_totals as t on t.stage = c.stage
    left join rates as r on r.stage = c.stage and r.kind = c.kind and r.pain = c.pain
),

barrier_rows as (
    select
        stage,
        barrier_kind as kind,
        case when to_stage is null then barrier_kind else barrier_kind || ' → ' || to_stage end as pain,
        cast(null as bigint) as events,
        case when barrier_kind = 'drop_off' then cast(value as bigint) else customers end as customers,
        rate as share,
        cast(null as double) as forward_rate_hit,
        cast(null as double) as forward_rate_not_hit,
        value,
        description
    from barriers
    where barrier_kind <> 'back_steps'
),

listed as (
    select * from measured
    union all
    select * from barrier_rows
)

select
    s.stage_order,
    l.stage,
    row_number() over (
        partition by l.stage
        order by case l.kind when 'pain' then 1 when 'low_score' then 2 when 'back_step' then 3 else 4 end,
            l.customers desc nulls last, l.kind, l.pain
    ) as rank,
    l.kind,
    l.pain,
    l.events,
    l.customers,
    l.share,
    l.forward_rate_hit,
    l.forward_rate_not_hit,
    l.forward_rate_hit - l.forward_rate_not_hit as lift,
    l.value,
    l.description
from listed as l
join stages as s on s.stage = l.stage
