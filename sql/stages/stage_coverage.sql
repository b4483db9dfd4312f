-- stage_coverage: one row per configured stage, plus '(no stage)' for events no rule matched.
-- events, customers and the share of all events; a stage with 0 events usually means a rule typo.
with

totals as (
    select count(*) as all_events from classified_events
),

per_stage as (
    select stage, count(*) as events, count(distinct customer_id) as customers
    from classified_events
    where stage is not null
    group by stage
),

unmatched as (
    select count(*) as events, count(distinct customer_id) as customers
    from classified_events
    where stage is null
)

select
    s.stage_order,
    s.stage,
    coalesce(p.events, 0) as events,
    coalesce(p.customers, 0) as customers,
    coalesce(p.events, 0) / nullif(t.all_events, 0) as share_of_events
from cfg_stages as s
cross join totals as t
left join per_stage as p on p.stage = s.stage

union all

select
    null as stage_order,
    '(no stage)' as stage,
    u.events,
    u.customers,
    u.events / nullif(t.all_events, 0) as share_of_events
from unmatched as u
cross join totals as t
