-- identity_components: one row per node (grain: identifier) with its component label, the
-- smallest node of its connected component in identity_edges. This file makes round 0: each
-- node takes the smallest node among itself and its neighbours; identity_components__next.sql
-- is then repeated until no label changes (at most identity.max_iterations rounds, else the run
-- fails: a partial answer would silently split customers).
with

edges as (
    select id_a as src, id_b as dst from identity_edges
    union
    select id_b, id_a from identity_edges
)

select src as identifier, min(least(src, dst)) as label
from edges
group by src
