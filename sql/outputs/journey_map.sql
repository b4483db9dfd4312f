-- journey_map: the customer journey map as one table (grain: stage, section, rank; sorted by
-- stage_order, section_order, rank): per stage (with its configured description) and section,
-- the items the map shows, each with customers, share, value and a note. Sections:
--   touchpoints (1): stage_touchpoints; share of the stage's visitors, value = lift (forward rate
--     of the visits holding the touchpoint minus the stage's);
--   feelings (2): stage_feedback per '(all)' or entry: 'score' (value: mean score on the scale,
--     share: score_norm), 'NPS' (value: nps), 'negative' (value: negative answers, share: their
--     share); then the latest negative comments ('comment': value the score, note the text, the
--     newest first, cfg_map.comments_per_stage of them);
--   pains (3): stage_pains; value = lift (forward rate of visitors who hit it minus the others')
--     for pains, low scores and back-steps, the barrier's value for the funnel barriers;
--   kpis (4): 'visitors' (customers with a visit; share of all customers with a visit), 'funnel
--     step' (the funnel's customers at the stage's step; share: conversion from the start),
--     'conversion to next' (to the next funnel step), 'forward rate' (stage_touchpoints), 'median
--     time in stage' (stage_dwell, seconds), then each configured KPI (value: actual; note:
--     target and met / missed);
--   next (5): stage_next out of the stage (to_stage, '(end)': no next visit within the window),
--     share = the probability over the stage's complete visits, value = transitions, note = kind
--     and counts; then from stage_outlook '(reach goal)' (share: the chain's P(goal), value:
--     observed share) and '(open now)' (customers in the stage now; share: their mean chance of
--     the goal within the window). The goal stage has no outlook items.
-- A '(before first stage)' column (stage_order 0) holds feedback answered before any visit.
with

stages as (
    select stage, stage_order, description from cfg_stages
    union all
    select distinct stage, stage_order, cast(null as varchar) as description
    from stage_feedback
    where stage_order = 0
),

touchpoint_items as (
    select
        stage,
        1 as section_order,
        'touchpoints' as section,
        rank as sort_key,
        touchpoint as item_key,
        touchpoint as item,
        customers,
        share,
        lift as value,
        case
            when forward_rate is not null then format('{} events in {} visits; forward rate {:.1f}% (stage {:.1f}%)',
                events, visits, 100 * forward_rate, 100 * stage_forward_rate)
            else format('{} events in {} visits', events, visits)
        end as note
    from stage_touchpoints
),

feedback_rows as (
    select
        *,
        case when feedback = '(all)' then '' else feedback || ': ' end as prefix
    from stage_feedback
    where answers > 0
),

feeling_items as (
    select
        stage, 2 as section_order, 'feelings' as section, 10 * feedback_order + 1 as sort_key,
        prefix || 'score' as item_key, prefix || 'score' as item, customers, score_norm as share,
        mean_score as value,
        format('{} answers, scale {}', answers, coalesce(scale, 'mixed')) as note
    from feedback_rows
    union all
    select
        stage, 2, 'feelings', 10 * feedback_order + 2, prefix || 'NPS', prefix || 'NPS', customers,
        cast(null as double), nps,
        format('{} promoters, {} passives, {} detractors', promoters, passives, detractors)
    from feedback_rows
    where nps is not null
    union all
    select
        stage, 2, 'feelings', 10 * feedback_order + 3, prefix || 'negative', prefix || 'negative',
        cast(null as bigint), negative_share, cast(negative_answers as double),
        format('{} of {} answers', negative_answers, answers)
    from feedback_rows
),

comments as (
    select
        stage,
        event_id,
        score,
        comment,
        row_number() over (partition by stage order by event_ts desc, event_id desc) as recency
    from map_events
    where rule_set = 'feedback' and is_negative and comment is not null
),

comment_items as (
    select
        stage, 2 as section_order, 'feelings' as section, 1000000 + recency as sort_key, event_id as item_key,
        'comment' as item, cast(null as bigint) as customers, cast(null as double) as share, score as value,
        comment as note
    from comments
    where recency <= (select comments_per_stage from cfg_map)
),

pain_items as (
    select
        stage,
        3 as section_order,
        'pains' as section,
        rank as sort_key,
        kind || ':' || pain as item_key,
        pain as item,
        customers,
        share,
        case when kind in ('pain', 'low_score', 'back_step') then lift else value end as value,
        coalesce(description, case
            when forward_rate_hit is not null and forward_rate_not_hit is not null
                then format('{} events; forward rate {:.1f}% when hit, {:.1f}% when not',
                    events, 100 * forward_rate_hit, 100 * forward_rate_not_hit)
            else format('{} events', events)
        end) as note
    from stage_pains
),

all_visitors as (
    select count(distinct customer_id) as customers from stage_visits
),

steps as (
    select f.step, f.stage, f.customers, f.conversion_from_start, n.stage as next_stage,
        n.customers as next_customers, n.conversion_from_previous as next_conversion
    from funnel as f
    left join funnel as n on n.step = f.step + 1
),

stage_rates as (
    select stage, max(stage_forward_rate) as forward_rate from stage_touchpoints group by stage
),

kpi_items as (
    select
        d.stage, 4 as section_order, 'kpis' as section, 1 as sort_key, 'visitors' as item_key, 'visitors' as item,
        d.customers, cast(d.customers as double) / nullif(a.customers, 0) as share,
        cast(d.customers as double) as value, format('{} visits', d.visits) as note
    from stage_dwell as d
    cross join all_visitors as a
    union all
    select
        stage, 4, 'kpis', 2, 'funnel step', 'funnel step', customers, conversion_from_start,
        cast(step as double), format('step {} of the funnel', step)
    from steps
    union all
    select
        stage, 4, 'kpis', 3, 'conversion to next', 'conversion to next', next_customers, next_conversion,
        next_conversion, format('to {}', next_stage)
    from steps
    where next_stage is not null
    union all
    select
        stage, 4, 'kpis', 4, 'forward rate', 'forward rate', cast(null as bigint), cast(null as double),
        forward_rate, 'visits followed by a later stage within the funnel window'
    from stage_rates
    where forward_rate is not null
    union all
    select
        stage, 4, 'kpis', 5, 'median time in stage', 'median time in stage', visits - open_visits,
        cast(null as double), dwell_median_s, format('over {} closed visits', visits - open_visits)
    from stage_dwell
    where dwell_median_s is not null
    union all
    select
        stage, 4, 'kpis', 6, kpi, kpi, cast(null as bigint), cast(null as double), actual,
        format('target {}: {}', target, case when met then 'met' when not met then 'missed' else 'no value' end)
    from stage_kpis
),

next_items as (
    select
        from_stage as stage,
        5 as section_order,
        'next' as section,
        -transitions as sort_key,
        to_stage as item_key,
        to_stage as item,
        customers,
        probability as share,
        cast(transitions as double) as value,
        format('{}: {} of {} complete visits', kind, transitions, visits) as note
    from stage_next
    where from_stage <> '(start)'
    union all
    select
        stage, 5, 'next', 1000000000, '(reach goal)', '(reach goal)', cast(null as bigint), p_goal,
        p_goal_observed,
        format('chain {:.1f}%, observed {:.1f}% of {} complete visits', 100 * p_goal, 100 * p_goal_observed, visits)
    from stage_outlook
    where not is_goal and p_goal is not null and p_goal_observed is not null
    union all
    select
        stage, 5, 'next', 1000000001, '(open now)', '(open now)', open_journeys, mean_p_goal_window,
        cast(open_journeys as double),
        'customers in the stage at the data cutoff; share: their mean chance of the goal within the window'
    from stage_outlook
    where open_journeys > 0 and not is_goal
),

items as (
    select * from touchpoint_items
    union all
    select * from feeling_items
    union all
    select * from comment_items
    union all
    select * from pain_items
    union all
    select * from kpi_items
    union all
    select * from next_items
)

select
    s.stage_order,
    i.stage,
    s.description,
    i.section_order,
    i.section,
    row_number() over (partition by i.stage, i.section order by i.sort_key, i.item_key) as rank,
    i.item,
    i.customers,
    i.share,
    i.value,
    i.note
from items as i
join stages as s on s.stage = i.stage
