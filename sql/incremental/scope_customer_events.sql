-- scope_customer_events: every event of the customers in the scope (grain: event_id), by which
-- the tables without a customer_id (events, event_identifiers) are narrowed to those customers.
select c.event_id
from customer_events as c
semi join _scope.scope_customers as s on s.customer_id = c.customer_id
