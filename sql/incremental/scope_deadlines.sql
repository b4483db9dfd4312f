-- scope_deadlines: customers whose rows change only because the data's cutoff moved (grain:
-- customer_id): a funnel entry whose window ends, or a stage visit whose prediction window
-- ends, between the last run's cutoff (data_cutoff, still the old table) and this run's (the last
-- event of customer_events, already rebuilt). Their is_complete, and a visit's '(end)', change.
with

bounds as (
    select least(o.cutoff_ts, n.cutoff_ts) as lo, greatest(o.cutoff_ts, n.cutoff_ts) as hi
    from data_cutoff as o
    cross join (select max(event_ts) as cutoff_ts from customer_events) as n
)

select distinct f.customer_id
from funnel_customer_steps as f
cross join bounds as b
where f.entered_at + to_seconds($window_s) > b.lo and f.entered_at + to_seconds($window_s) <= b.hi

union

select distinct v.customer_id
from visit_outcomes as v
cross join bounds as b
where epoch(v.entered_at) + $predict_window_s > epoch(b.lo) and epoch(v.entered_at) + $predict_window_s <= epoch(b.hi)
