-- identity_run_merges: customers of the previous run that this run joins into one (grain:
-- customer_id): the id kept (the oldest), the ids that disappear into it, and an identifier
-- that links them (one side of an edge whose ends belonged to different earlier customers,
-- or a new identifier between them). Appended to the identity_merges history after a run.
with

previous as (
    select m.customer_id, s.customer_id as old_id
    from identity_map as m
    join _cjm_identity_state as s on s.identifier = m.identifier
),

merged as (
    select customer_id, list(distinct old_id order by old_id) filter (where old_id <> customer_id) as merged_ids
    from previous
    group by customer_id
    having count(distinct old_id) > 1
),

links as (
    -- an edge whose two ends belonged to different earlier customers (or one end is new)
    select ma.customer_id, min(case when sa.customer_id is null then e.id_a else e.id_b end) as linking_identifier
    from identity_edges as e
    join identity_map as ma on ma.identifier = e.id_a
    join merged as mg on mg.customer_id = ma.customer_id
    left join _cjm_identity_state as sa on sa.identifier = e.id_a
    left join _cjm_identity_state as sb on sb.identifier = e.id_b
    where e.id_a <> e.id_b and sa.customer_id is distinct from sb.customer_id
    group by ma.customer_id
)

select
    m.customer_id,
    m.merged_ids,
    l.linking_identifier
from merged as m
left join links as l on l.customer_id = m.customer_id
where array_length(m.merged_ids) > 0
