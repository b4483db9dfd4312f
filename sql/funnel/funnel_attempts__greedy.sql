-- funnel_attempts: one row per step reached by each attempt (grain: unit_id, attempt, step) in the
-- ordered and strict funnels without per-step windows; an attempt is an anchor of funnel_positions
-- (attempt = its pos).
--
-- Ordered mode (docs/semantics.md, "Ordered funnel", "Strict funnel"): an attempt anchored at e1 reaches step k when there are events
-- e1 < ... < ek in the total order (event_ts, stage_order, event_id) with stage(ei) = step i and
-- ts(ek) - ts(e1) <= window ($window_s seconds). Other events may come in between; each event
-- fills at most one step. Strict mode ($strict): e1 ... ek must also lie in consecutive stage
-- visits (visits of any configured stage; unstaged events form none).
--
-- How: for a fixed anchor, taking the earliest next-step event each time reaches as far as any
-- chain (exchange argument: the window is a deadline fixed by e1; in strict mode the next visit
-- is the same whichever event of the current visit is taken), so each anchor is extended
-- greedily, one step per round, to funnel_positions.next_pos (an equality join: no pairs of
-- events). In strict mode the earliest next-step event is in the next visit if any next-step
-- event is: the events before the next visit are the current one's, of the current stage.
-- The chain is the componentwise earliest one, as in funnel_attempts__chain.sql, which
-- handles per-step windows.
with recursive

steps as (
    select step, stage from cfg_funnel_steps
),

chain(unit_id, customer_id, attempt, anchor_ts, step, pos, visit, next_pos, event_id, event_ts) as (
    select unit_id, customer_id, pos, event_ts, 1, pos, visit, next_pos, event_id, event_ts
    from funnel_positions
    where is_anchor

    union all

    select c.unit_id, c.customer_id, c.attempt, c.anchor_ts, c.step + 1, o.pos, o.visit, o.next_pos, o.event_id, o.event_ts
    from chain as c
    join funnel_positions as o on o.unit_id = c.unit_id and o.pos = c.next_pos
    where o.event_ts <= c.anchor_ts + to_seconds($window_s)
        and (not $strict or o.visit = c.visit + 1)
)

select
    c.unit_id,
    c.customer_id,
    c.attempt,
    c.step,
    s.stage,
    c.event_id,
    c.event_ts,
    c.anchor_ts as entered_at
from chain as c
join steps as s on s.step = c.step
