-- identity_components: one row per node (grain: node_id) with its component label, the smallest
-- node_id of its connected component (identity_adjacency). This file makes round 0: each node
-- takes the smallest node among itself and its neighbours; identity_components__next.sql is then
-- repeated until no label changes (at most identity.max_iterations rounds, else the run fails:
-- a partial answer would silently split customers).
select src as node_id, least(src, min(dst)) as label
from identity_adjacency
group by src
