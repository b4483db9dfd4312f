-- scope_node_events: every event whose identity node is in the scope (grain: event_id): the
-- events identity_edges reads to rebuild the edges of those nodes.
select n.event_id
from event_nodes as n
semi join _scope.scope_nodes as s on s.identifier = n.node
