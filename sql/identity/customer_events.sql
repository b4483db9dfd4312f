-- customer_events: events with their customer_id (grain: event_id).
-- All identifiers of one event belong to one component, so any of them gives the customer.
with

one_identifier as (
    select event_id, min(identifier) as identifier
    from event_identifiers
    group by event_id
)

select
    m.customer_id,
    e.*
from events as e
join one_identifier as i on i.event_id = e.event_id
join identity_map as m on m.identifier = i.identifier
