-- scope_identifiers: the identifiers on the edges of the nodes in the scope (grain: identifier).
-- Run before and after identity_edges is rebuilt for those nodes: an identifier that gains or
-- loses an edge may change its component.
select e.id_a as identifier
from identity_edges as e
semi join _scope.scope_nodes as s on s.identifier = e.id_a

union

select e.id_b
from identity_edges as e
semi join _scope.scope_nodes as s on s.identifier = e.id_a
