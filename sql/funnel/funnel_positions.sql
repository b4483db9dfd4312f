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
-- next_pos: the position of the unit's first event of the next funnel step after this one (null:
-- none): the greedy chain follows these pointers (funnel_attempts__greedy) instead of pairing
-- every event with every later one.
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

-- every event of step k asks for the next event of step k + 1 (key k + 1); those events answer
successors as (
    select unit_id, pos, step + 1 as key, false as is_target from ordered where step is not null
    union all
    select unit_id, pos, step as key, true as is_target from ordered where step > 1
),

next_of as (
    select
        unit_id,
        pos,
        min(case when is_target then pos end) over (
            partition by unit_id, key order by pos desc rows between unbounded preceding and 1 preceding
        ) as next_pos
    from successors
    qualify not is_target
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
    a.pos is not null as is_anchor,
    n.next_pos
from ordered as o
left join anchors as a on a.unit_id = o.unit_id and a.pos = o.pos
left join next_of as n on n.unit_id = o.unit_id and n.pos = o.pos
where o.step is not null
