-- identity_adjacency: the identity graph as integer node pairs in both directions (grain: src, dst),
-- built once so each round of identity_components is one join and one group-by.
with

pairs as (
    select a.node_id as src, b.node_id as dst
    from identity_edges as e
    join identity_nodes as a on a.identifier = e.id_a
    join identity_nodes as b on b.identifier = e.id_b
)

select src, dst from pairs
union
select dst, src from pairs
