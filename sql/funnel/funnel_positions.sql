-- funnel_positions: each unit's events of the funnel's stages in the total order (grain: unit_id, pos),
-- the input of the ordered and strict funnels (funnel_attempts__greedy / __chain).
-- pos: position among the unit's staged events (any configured stage) in the total order
-- (event_ts, stage_order, event_id); visit: the stage visit it belongs to (a new visit wherever
-- the stage changes; the strict mode's chains run through consecutive visits); step: its funnel step.
-- is_anchor: the event starts an attempt. Only step-1 events in the entry range
-- [$entry_from, $entry_to) anchor (null: no bound), and of the step-1 events with no step-2
-- event between them only the last one: it reaches every chain an earlier one reaches, with later
-- deadlines. One anchor is kept per entry period ($trend_period) so that funnel_trends can count
-- each period's best attempt.
with

steps as (
    select step, stage from cfg_funnel_steps
),

staged as (
    select f.unit_id, f.customer_id, f.event_id, f.event_ts, f.stage, f.stage_order, s.step
    from funnel_events as f
    left join steps as s on s.stage = f.stage
    where f.stage is not null
),

numbered as (
    select
        *,
        row_number() over w as pos,
        case when stage is distinct from lag(stage) over w then 1 else 0 end as starts_visit
    from staged
    window w as (partition by unit_id order by event_ts, stage_order, event_id)
),

ordered as (
    select
        unit_id, customer_id, event_id, event_ts, step, pos,
        sum(starts_visit) over w as visit,
        count(*) filter (where step = 2) over w as step2_seen
    from numbered
    window w as (partition by unit_id order by pos rows between unbounded preceding and current row)
),

anchors as (
    select unit_id, max(pos) as pos
    from ordered
    where step = 1
        -- the entry range selects step-1 events only; later steps are followed past its end
        and (cast($entry_from as timestamp) is null or event_ts >= cast($entry_from as timestamp))
        and (cast($entry_to as timestamp) is null or event_ts < cast($entry_to as timestamp))
    group by unit_id, step2_seen, date_trunc($trend_period, event_ts)
)

select
    o.unit_id,
    o.customer_id,
    o.pos,
    o.visit,
    o.step,
    o.event_id,
    o.event_ts,
    a.pos is not null as is_anchor
from ordered as o
left join anchors as a on a.unit_id = o.unit_id and a.pos = o.pos
where o.step is not null
