-- funnel_attempts: one row per step reached by each attempt (grain: customer_id, attempt, step)
-- in the ordered funnel; an attempt is a step-1 event (its position in the customer's order).
--
-- Ordered mode (SEMANTICS.md): an attempt anchored at e1 reaches step k when there are events
-- e1 < ... < ek in the total order (event_ts, stage_order, event_id) with stage(ei) = step i and
-- ts(ek) - ts(e1) <= window ($window_s seconds). Other events may come in between; each event
-- fills at most one step (an event has one stage, and the chain is strictly increasing).
-- Only step-1 events in the entry range [$entry_from, $entry_to) anchor (null: no bound).
--
-- How: for a fixed anchor, taking the earliest next-step event each time reaches as far as any
-- chain (exchange argument), so each anchor is extended greedily by a recursive CTE, one step
-- per round. Anchors with no step-2 event between them reach the same chain and the later one has
-- the later window end, so only the last anchor of each such run is kept, per entry period
-- ($trend_period) so that funnel_trends can count each period's best attempt.
with recursive

steps as (
    select step, stage from cfg_funnel_steps
),

staged as (
    select c.customer_id, c.event_id, c.event_ts, c.stage_order, s.step
    from classified_events as c
    join steps as s on s.stage = c.stage
),

ordered as (
    select
        *,
        row_number() over w as pos,
        count(*) filter (where step = 2) over (w rows between unbounded preceding and current row) as step2_seen
    from staged
    window w as (partition by customer_id order by event_ts, stage_order, event_id)
),

anchors as (
    select
        customer_id,
        max(pos) as pos
    from ordered
    where step = 1
        -- the entry range selects step-1 events only; later steps are followed past its end
        and (cast($entry_from as timestamp) is null or event_ts >= cast($entry_from as timestamp)) and (cast($entry_to as timestamp) is null or event_ts < cast($entry_to as timestamp))
    group by customer_id, step2_seen, date_trunc($trend_period, event_ts)
),

chain(customer_id, anchor_pos, anchor_ts, step, pos, event_ts, event_id) as (
    select a.customer_id, a.pos, o.event_ts, 1, a.pos, o.event_ts, o.event_id
    from anchors as a
    join ordered as o on o.customer_id = a.customer_id and o.pos = a.pos

    union all

    select
        c.customer_id,
        c.anchor_pos,
        c.anchor_ts,
        c.step + 1,
        min(o.pos),
        arg_min(o.event_ts, o.pos),
        arg_min(o.event_id, o.pos)
    from chain as c
    join ordered as o
        on o.customer_id = c.customer_id
        and o.step = c.step + 1
        and o.pos > c.pos
        and o.event_ts <= c.anchor_ts + to_seconds($window_s)
    group by c.customer_id, c.anchor_pos, c.anchor_ts, c.step
),

select
    c.customer_id,
    c.anchor_pos as attempt,
    c.step,
    s.stage,
    c.event_id,
    c.event_ts,
    c.anchor_ts as entered_at
from chain as c
join steps as s on s.step = c.step
