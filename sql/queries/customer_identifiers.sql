-- customer_identifiers: one row per identifier of one customer ($customer_id): its type, how many
-- events carried it, from which sources, when it was first and last seen, and whether it links
-- (a blocked value or a hub is only an attribute of the customer's events).
with

events_of as (
    select event_id from customer_events where customer_id = $customer_id
)

select
    i.identifier,
    i.id_type,
    count(distinct i.event_id) as events,
    list(distinct i.source order by i.source) as sources,
    min(i.observed_at) as first_seen,
    max(i.observed_at) as last_seen,
    min(i.raw_value) as raw_value,
    case
        when bool_or(i.blocked) then 'blocked'
        when i.identifier in (select identifier from identity_hubs) then 'hub'
        else 'links'
    end as role,
    min(m.first_run) as first_run
from event_identifiers as i
join events_of as e on e.event_id = i.event_id
left join identity_map as m on m.identifier = i.identifier
group by i.identifier, i.id_type
order by role, i.id_type, i.identifier
