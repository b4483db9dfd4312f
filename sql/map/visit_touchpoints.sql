-- visit_touchpoints: one row per stage visit and touchpoint (grain: customer_id, visit_index,
-- touchpoint): how many events of one event type, source and channel the visit holds, staged or
-- not: what the customer did there. An event belongs to the visit it falls in, the customer's
-- latest visit entered at or before it in the event order (event_ts, stage_order, event_id; at one
-- instant staged events come first), so an unstaged call during an 'interest' visit is a touchpoint
-- of interest. Events before the customer's first visit belong to no visit and are left out.
-- touchpoint is 'event_type · source · channel' (channel '(none)' when the event has none).
-- Each row carries its visit's facts, whatever the funnel: stage_order, opens_visit (true on the
-- one row holding the visit's first event) and moves_on_after_s (seconds from entering the visit to
-- entering the next one when that move is forward or a skip, else null): a visit moves on within a
-- window w when moves_on_after_s <= w.
with

starts as (
    select
        v.customer_id,
        v.visit_index,
        v.first_event_id,
        v.stage_order,
        case when t.kind in ('forward', 'skip') then t.gap_s end as moves_on_after_s
    from stage_visits as v
    left join stage_transitions as t on t.customer_id = v.customer_id and t.transition_index = v.visit_index + 1
),

marked as (
    select
        e.customer_id,
        e.event_id,
        e.event_ts,
        e.stage_order,
        e.event_type,
        e.source,
        coalesce(e.channel, '(none)') as channel,
        s.visit_index as starts_visit
    from classified_events as e
    left join starts as s on s.customer_id = e.customer_id and s.first_event_id = e.event_id
),

-- (visits are numbered in the event order, so the latest visit started so far is the largest
-- number; the visit's facts are joined once per visit and touchpoint, after counting)
placed as (
    select
        customer_id,
        event_type,
        source,
        channel,
        starts_visit,
        max(starts_visit) over (
            partition by customer_id order by event_ts, stage_order nulls last, event_id
            rows between unbounded preceding and current row
        ) as visit_index
    from marked
),

counted as (
    select
        customer_id,
        visit_index,
        event_type,
        source,
        channel,
        count(*) as events,
        bool_or(starts_visit is not null) as opens_visit
    from placed
    where visit_index is not null
    group by customer_id, visit_index, event_type, source, channel
)

select
    c.customer_id,
    c.visit_index,
    c.event_type || ' · ' || c.source || ' · ' || c.channel as touchpoint,
    c.event_type,
    c.source,
    c.channel,
    c.events,
    s.stage_order,
    c.opens_visit,
    s.moves_on_after_s
from counted as c
join starts as s on s.customer_id = c.customer_id and s.visit_index = c.visit_index
