-- customer_events: the customer_id of every event (grain: event_id), with the few columns that
-- explain a customer (source, type, time). Every event has one identity node (event_nodes),
-- and every node one customer. The event's other columns stay in events (classified_events
-- carries them all): this table is narrow so that a year of events is not copied once more.
select
    m.customer_id,
    e.event_id,
    e.event_ts,
    e.source,
    e.event_type
from events as e
join event_nodes as n on n.event_id = e.event_id
join identity_map as m on m.identifier = n.node
