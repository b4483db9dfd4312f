-- funnel_attempts: one row per step reached by each attempt (grain: unit_id, attempt, step) in the
-- ordered and strict funnels with per-step windows; an attempt is an anchor of funnel_positions
-- (attempt = its pos).
--
-- Ordered mode (docs/semantics.md, "Ordered funnel", "Per-step windows"): an attempt anchored at e1 reaches step k when there are events
-- e1 < ... < ek in the total order (event_ts, stage_order, event_id) with stage(ei) = step i,
-- ts(ek) - ts(e1) <= window ($window_s seconds) and, where step i has a per-step window wi
-- (cfg_funnel_steps.window_s), ts(ei) - ts(e(i-1)) <= wi. Other events may come in between; each
-- event fills at most one step. Strict mode ($strict): e1 ... ek must also lie in consecutive
-- stage visits (visits of any configured stage; unstaged events form none).
--
-- Times: the earliest event that reaches the attempt's furthest step K, then at each earlier
-- step the earliest event that still leads to the chosen next one. Chains sharing e1 are closed
-- under taking the earlier event at each step, so this is the componentwise earliest chain (with
-- no per-step windows it is the greedy chain of funnel_attempts__greedy.sql).
--
-- How: a forward pass finds, step by step, every event an attempt can reach at that step: a
-- candidate is reachable when the latest reachable event of the previous step before it is close
-- enough (the latest is the nearest in time); in strict mode it must also lie in the visit right
-- after that one. Where the next step has no per-step window only the earliest reachable event
-- is kept (every later candidate comes after it, and the backward pass picks it). A backward pass
-- then picks the times.
with recursive

steps as (
    select step, stage, window_s from cfg_funnel_steps
),

positions as (
    select * from funnel_positions
),

reach(unit_id, attempt, anchor_ts, step, pos, visit, event_ts, event_id) as (
    select o.unit_id, o.pos, o.event_ts, cast(1 as bigint), o.pos, o.visit, o.event_ts, o.event_id
    from positions as o
    where o.is_anchor

    union all

    select unit_id, attempt, anchor_ts, step, pos, visit, event_ts, event_id
    from (
        select
            x.*,
            n.window_s is not null as next_has_window,
            min(x.pos) over (partition by x.unit_id, x.attempt) as first_pos
        from (
            select
                *,
                max(case when is_previous then event_ts end) over p as previous_ts,
                max(case when is_previous then visit end) over p as previous_visit
            from (
                -- the previous step's reachable events ...
                select unit_id, attempt, anchor_ts, step + 1 as step, pos, visit, event_ts, event_id, true as is_previous
                from reach

                union all

                -- ... and the next step's events after the earliest of them, within the funnel window
                select f.unit_id, f.attempt, f.anchor_ts, o.step, o.pos, o.visit, o.event_ts, o.event_id, false
                from (
                    select unit_id, attempt, any_value(anchor_ts) as anchor_ts, any_value(step) as step, min(pos) as pos
                    from reach
                    group by unit_id, attempt
                ) as f
                join positions as o
                    on o.unit_id = f.unit_id
                    and o.step = f.step + 1
                    and o.pos > f.pos
                    and o.event_ts <= f.anchor_ts + to_seconds($window_s)
            ) as both_steps
            window p as (partition by unit_id, attempt order by pos rows between unbounded preceding and 1 preceding)
        ) as x
        join steps as s on s.step = x.step
        left join steps as n on n.step = x.step + 1
        where not x.is_previous
            and x.previous_ts is not null
            and (s.window_s is null or x.event_ts <= x.previous_ts + to_seconds(s.window_s))
            and (not $strict or x.visit = x.previous_visit + 1)
    ) as reached
    -- without a window on the next step only the earliest reachable event matters (it has every
    -- later candidate after it, and it is the one the backward pass picks)
    where next_has_window or pos = first_pos
),

furthest as (
    select unit_id, attempt, max(step) as step
    from reach
    group by unit_id, attempt
),

chain(unit_id, attempt, step, pos, event_ts, event_id) as (
    select r.unit_id, r.attempt, r.step, min(r.pos), arg_min(r.event_ts, r.pos), arg_min(r.event_id, r.pos)
    from reach as r
    join furthest as f on f.unit_id = r.unit_id and f.attempt = r.attempt and f.step = r.step
    group by r.unit_id, r.attempt, r.step

    union all

    select r.unit_id, r.attempt, r.step, min(r.pos), arg_min(r.event_ts, r.pos), arg_min(r.event_id, r.pos)
    from chain as c
    join steps as s on s.step = c.step
    join reach as r
        on r.unit_id = c.unit_id
        and r.attempt = c.attempt
        and r.step = c.step - 1
        and r.pos < c.pos
        and (s.window_s is null or r.event_ts >= c.event_ts - to_seconds(s.window_s))
    group by r.unit_id, r.attempt, r.step
)

select
    c.unit_id,
    o.customer_id,
    c.attempt,
    c.step,
    s.stage,
    c.event_id,
    c.event_ts,
    o.event_ts as entered_at
from chain as c
join steps as s on s.step = c.step
join positions as o on o.unit_id = c.unit_id and o.pos = c.attempt
