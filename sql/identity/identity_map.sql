-- identity_map: one row per identifier (grain: identifier) with its customer_id.
-- Customers are the connected components of identity_edges, found by min-label propagation
-- in a keyed recursive CTE: each round, an identifier takes the smallest label among its
-- neighbours when that is smaller than its own; rounds stop when no label changes.
-- customer_id = md5 of the smallest identifier of the component: opaque, no raw PII.
with recursive

edges as (
    select id_a as src, id_b as dst from identity_edges
    union
    select id_b, id_a from identity_edges
),

labels(identifier, label) using key (identifier) as (
    select src, min(least(src, dst)) from edges group by src
    union
    select e.src, min(l.label)
    from edges as e
    join recurring.labels as l on l.identifier = e.dst
    join recurring.labels as me on me.identifier = e.src
    group by e.src
    having min(l.label) < min(me.label)
)

select
    identifier,
    md5(label) as customer_id
from labels
