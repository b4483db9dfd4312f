-- identity_edges: one row per pair of nodes seen together in one record (grain: id_a, id_b).
-- Each event links its linking identifiers (not blocked, not hubs) as a star around its node
-- (event_nodes: the smallest of them); every node also gets a self-edge so singletons become
-- customers. Blocked identifiers and hubs make no edge at all.
select distinct n.node as id_a, i.identifier as id_b
from event_nodes as n
join event_identifiers as i on i.event_id = n.event_id
where not i.blocked and i.identifier not in (select identifier from identity_hubs)

union

select node, node from event_nodes
