-- identity_nodes: one row per node of the identity graph (grain: identifier) with a dense integer
-- node_id in identifier order, so the component steps compare and join integers, not strings,
-- and the smallest node_id of a component is its smallest identifier.
select identifier, row_number() over (order by identifier) as node_id
from (select id_a as identifier from identity_edges union select id_b from identity_edges)
