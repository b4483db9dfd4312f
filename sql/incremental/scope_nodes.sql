-- scope_nodes: the identity nodes of the events in the scope (grain: identifier). Run before and
-- after event_nodes is rebuilt for those events, so a node an event leaves is recomputed too:
-- identity_edges is rebuilt for these nodes (an edge is a node and an identifier of one event).
select distinct n.node as identifier
from event_nodes as n
semi join _scope.scope_events as s on s.event_id = n.event_id
