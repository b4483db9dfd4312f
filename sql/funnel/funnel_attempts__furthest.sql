-- funnel_attempts: one row per step counted for each unit with a staged event
-- (grain: unit_id, attempt, step) in the furthest funnel (the CRM pipeline view); a
-- unit (customer, deal or session) has one attempt (attempt = 1), starting at its first staged event.
--
-- Furthest mode (docs/semantics.md, "Furthest funnel"): a unit counts at step k when the furthest funnel stage they
-- reached within the window from their first staged event (ts <= first + $window_s) has
-- order >= k, whatever the order of visits: reaching 'purchase' implies the earlier stages.
-- event_id / event_ts are the first event of the step's stage in the window, and null where the
-- step is implied (counted without an event of its stage). entered_at is the first staged event;
-- only units whose entered_at is in the entry range [$entry_from, $entry_to) count (null: no
-- bound).
with

steps as (
    select step, stage from cfg_funnel_steps
),

staged as (
    select f.unit_id, f.customer_id, f.event_id, f.event_ts, f.stage_order, s.step
    from funnel_events as f
    join steps as s on s.stage = f.stage
),

entries as (
    select unit_id, min(event_ts) as entered_at
    from staged
    group by unit_id
    having (cast($entry_from as timestamp) is null or min(event_ts) >= cast($entry_from as timestamp))
        and (cast($entry_to as timestamp) is null or min(event_ts) < cast($entry_to as timestamp))
),

in_window as (
    select st.*, e.entered_at
    from staged as st
    join entries as e on e.unit_id = st.unit_id
    where st.event_ts >= e.entered_at and st.event_ts <= e.entered_at + to_seconds($window_s)
),

first_per_step as (
    select unit_id, step, any_value(entered_at) as entered_at,
        arg_min(event_id, (event_ts, stage_order, event_id)) as event_id,
        min(event_ts) as event_ts
    from in_window
    group by unit_id, step
),

furthest as (
    select p.unit_id, any_value(st.customer_id) as customer_id, max(p.step) as furthest,
        any_value(p.entered_at) as entered_at
    from first_per_step as p
    join staged as st on st.event_id = p.event_id
    group by p.unit_id
)

select
    f.unit_id,
    f.customer_id,
    1 as attempt,
    s.step,
    s.stage,
    p.event_id,
    p.event_ts,
    f.entered_at
from furthest as f
join steps as s on s.step <= f.furthest
left join first_per_step as p on p.unit_id = f.unit_id and p.step = s.step
