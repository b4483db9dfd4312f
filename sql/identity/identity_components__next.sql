-- identity_components: one more round of min-label propagation with pointer jumping.
-- A node takes the smallest label among its neighbours' labels, its own, and the label of
-- its label (pointer jumping: a long chain halves each round instead of moving one hop).
-- Labels only decrease and always name a node of the same component, so the fixpoint is the
-- component minimum; on a chain of n links this takes O(log n) rounds, not n.
with

hop as (
    select a.src as node_id, min(l.label) as label
    from identity_adjacency as a
    join identity_components as l on l.node_id = a.dst
    group by a.src
)

select
    cur.node_id,
    least(cur.label, h.label, coalesce(jump.label, cur.label)) as label
from identity_components as cur
join hop as h on h.node_id = cur.node_id
left join identity_components as jump on jump.node_id = h.label
