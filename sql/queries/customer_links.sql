-- customer_links: the records of one customer ($customer_id) that join two or more of its
-- identifiers: why these identifiers are one person. One row per record, oldest first.
select
    e.event_id,
    e.source,
    e.event_type,
    e.event_ts,
    list(i.identifier order by i.identifier) as identifiers
from customer_events as e
join event_identifiers as i on i.event_id = e.event_id
where e.customer_id = $customer_id
    and not i.blocked and i.identifier not in (select identifier from identity_hubs)
group by e.event_id, e.source, e.event_type, e.event_ts
having count(*) > 1
order by e.event_ts, e.event_id
