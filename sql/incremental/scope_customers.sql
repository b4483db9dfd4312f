-- scope_customers: the customers of the events in the scope (grain: customer_id). Run before and
-- after customer_events is rebuilt for those events, so both the customer an event leaves and
-- the one it joins are recomputed (a merge empties the one and grows the other).
select distinct c.customer_id
from customer_events as c
semi join _scope.scope_events as s on s.event_id = c.event_id
