-- data_cutoff: the data's last event (one row). A journey is complete, and a visit's window has
-- ended, when its deadline is at or before this time (funnel_customer_steps, visit_outcomes). It
-- is one table so that a nightly run that recomputes only some customers compares their deadlines
-- with the cutoff of all events, and knows whose deadline the night passed (sql/incremental/).
select max(event_ts) as cutoff_ts
from classified_events
