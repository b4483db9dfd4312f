-- identity_edges: one row per pair of identifiers seen together in one record (grain: id_a, id_b).
-- Each record links its identifiers as a star around its smallest one (same components as all
-- pairs, fewer edges); every identifier also gets a self-edge so singletons become customers.
with

per_event as (
    select event_id, identifier, min(identifier) over (partition by event_id) as hub
    from event_identifiers
)

select distinct
    hub as id_a,
    identifier as id_b
from per_event
