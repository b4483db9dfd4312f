-- funnel_customer_steps: for each customer who entered the funnel, one row per step reached
-- (grain: customer_id, step) in the strict funnel, with the event that filled it.
--
-- Strict mode (SEMANTICS.md): as ordered, but e1 ... ek must lie in consecutive stage visits
-- (any other stage visit between them breaks the chain; unstaged events do not, as they never
-- form visits). Within the step-1 visit the latest event is e1 (the latest anchor reaches
-- furthest); each later step is filled by the first event of its visit. The window holds when
-- ts(ek) - ts(e1) <= $window_s. The furthest step counts; times come from the latest anchor
-- that reaches it. Only step-1 visits whose anchor event is in the entry range
-- [$entry_from, $entry_to) start an attempt. is_complete: the entry's window has closed.
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
),

best as (
    select customer_id, anchor_visit
    from (select customer_id, anchor_visit, max(step) as furthest from chain group by customer_id, anchor_visit)
    qualify row_number() over (partition by customer_id order by furthest desc, anchor_visit desc) = 1
)

select
    c.customer_id,
    c.step,
    s.stage,
    c.event_id,
    c.event_ts,
    c.anchor_ts as entered_at,
    c.anchor_ts + to_seconds($window_s) <= (select max(event_ts) from classified_events) as is_complete
from chain as c
join best as b on b.customer_id = c.customer_id and b.anchor_visit = c.anchor_visit
join steps as s on s.step = c.step
