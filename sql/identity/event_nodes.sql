-- event_nodes: the identity node of each event (grain: event_id): its smallest identifier that
-- may link records (not blocked, not a hub), or the event itself ('event:<event_id>') when it
-- carries none, so an event known only by a placeholder phone is its own customer and joins nobody.
select
    e.event_id,
    coalesce(min(i.identifier), 'event:' || e.event_id) as node
from events as e
left join event_identifiers as i
    on i.event_id = e.event_id and not i.blocked
    and i.identifier not in (select identifier from identity_hubs)
group by e.event_id
