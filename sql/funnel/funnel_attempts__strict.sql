-- funnel_attempts: one row per step reached by each attempt (grain: customer_id, attempt, step)
-- in the strict funnel; an attempt is a step-1 visit (its visit_index).
--
-- Strict mode (SEMANTICS.md): as ordered, but e1 ... ek must lie in consecutive stage visits
-- (any other stage visit between them breaks the chain; unstaged events do not, as they never
-- form visits). Within the step-1 visit the latest event is e1 (the latest anchor reaches
-- furthest); each later step is filled by the first event of its visit. The window holds when
-- ts(ek) - ts(e1) <= $window_s. Only step-1 visits whose anchor event is in the entry range
-- [$entry_from, $entry_to) start an attempt.
--
-- How: consecutive visits whose funnel step rises by exactly one form a run; a run that starts
-- at step 1 is an attempt, and its visits reach as far as the window allows.
with

steps as (
    select step, stage from cfg_funnel_steps
),

visits as (
    select v.customer_id, v.visit_index, v.entered_at, v.last_event_at, v.first_event_id, v.last_event_id,
        s.step
    from stage_visits as v
    left join steps as s on s.stage = v.stage
),

marked as (
    select
        *,
        case when step > 1 and lag(step) over w = step - 1 then 0 else 1 end as starts_run
    from visits
    window w as (partition by customer_id order by visit_index)
),

runs as (
    select
        *,
        sum(starts_run) over (
            partition by customer_id order by visit_index
            rows between unbounded preceding and current row
        ) as run_id
    from marked
),

anchors as (
    select customer_id, run_id, visit_index as anchor_visit, last_event_at as anchor_ts, last_event_id as anchor_event_id
    from runs
    where starts_run = 1 and step = 1
        and (cast($entry_from as timestamp) is null or last_event_at >= cast($entry_from as timestamp)) and (cast($entry_to as timestamp) is null or last_event_at < cast($entry_to as timestamp))
),

chain as (
    select
        r.customer_id,
        a.anchor_visit,
        a.anchor_ts,
        r.step,
        case when r.step = 1 then a.anchor_event_id else r.first_event_id end as event_id,
        case when r.step = 1 then a.anchor_ts else r.entered_at end as event_ts
    from runs as r
    join anchors as a on a.customer_id = r.customer_id and a.run_id = r.run_id
    where r.step = 1 or r.entered_at <= a.anchor_ts + to_seconds($window_s)
)

select
    c.customer_id,
    c.anchor_visit as attempt,
    c.step,
    s.stage,
    c.event_id,
    c.event_ts,
    c.anchor_ts as entered_at
from chain as c
join steps as s on s.step = c.step
