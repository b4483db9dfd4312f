-- identity_components: one more round of min-label propagation with pointer jumping.
-- A node takes the smallest label among its neighbours' labels, its own, and the label of
-- its label (pointer jumping: a long chain halves each round instead of moving one hop).
-- Labels only decrease and always name a node of the same component, so the fixpoint is the
-- component minimum; on a chain of n links this takes O(log n) rounds, not n.
with

edges as (
    select id_a as src, id_b as dst from identity_edges
    union
    select id_b, id_a from identity_edges
),

hop as (
    select e.src as identifier, min(l.label) as label
    from edges as e
    join identity_components as l on l.identifier = e.dst
    group by e.src
)

select
    cur.identifier,
    least(cur.label, h.label, coalesce(jump.label, cur.label)) as label
from identity_components as cur
join hop as h on h.identifier = cur.identifier
left join identity_components as jump on jump.identifier = h.label
