-- old_identity_map: the customer of every identifier in the scope as the last build left it
-- (grain: identifier), taken before identity_map is rebuilt for them; scope_reassigned compares.
select m.identifier, m.customer_id
from identity_map as m
semi join _scope.scope_identifiers as s on s.identifier = m.identifier
