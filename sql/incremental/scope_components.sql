-- scope_components: every identifier of the earlier components (identity_map before this run's
-- rebuild) that hold an identifier in the scope (grain: identifier). The components, and the
-- customer_ids they keep, are recomputed from all their identifiers; also a component whose id
-- is the one a new component would be named (md5 of its smallest identifier), so that the new
-- one sees the id taken, as a full rebuild does. An edge that links two earlier components has
-- an end in each, so both are in the scope.
with

components as (
    select m.component
    from identity_map as m
    semi join _scope.scope_identifiers as s on s.identifier = m.identifier

    union

    select m.component
    from identity_map as m
    semi join _scope.scope_identifiers as s on md5(s.identifier) = m.customer_id
)

select m.identifier
from identity_map as m
semi join components as c on c.component = m.component
