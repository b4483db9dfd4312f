-- customer_events: events with their customer_id (grain: event_id).
-- Every event has one identity node (event_nodes), and every node one customer.
select
    m.customer_id,
    e.*
from events as e
join event_nodes as n on n.event_id = e.event_id
join identity_map as m on m.identifier = n.node
