-- identity_map: one row per node (grain: identifier) with its customer_id, stable across runs.
-- A component (identity_components) keeps the customer_id its identifiers had in the previous
-- run (_cjm_identity_state). When it holds identifiers of several earlier customers (a merge),
-- it keeps the oldest of their ids (first_seen_at, the start of the run that first saw it; then the id); an old id goes to one component
-- only (the one holding most of its identifiers, e.g. after a split). A new component gets
-- md5 of its smallest identifier: opaque, no raw PII.
with

node_components as (
    -- identifier -> component, named by its smallest identifier
    select n.identifier, root.identifier as label
    from identity_components as c
    join identity_nodes as n on n.node_id = c.node_id
    join identity_nodes as root on root.node_id = c.label
),

overlap as (
    select c.label as component, s.customer_id, min(s.first_seen_at) as first_seen_at,
        arg_min(s.first_run, s.first_seen_at) as first_run, count(*) as shared
    from node_components as c
    join _cjm_identity_state as s on s.identifier = c.identifier
    group by c.label, s.customer_id
),

claimed as (
    -- each old id goes to the component that holds most of its identifiers
    select *
    from overlap
    qualify row_number() over (partition by customer_id order by shared desc, component) = 1
),

kept as (
    -- each component keeps the oldest id it claimed
    select component, customer_id, first_run, first_seen_at
    from claimed
    qualify row_number() over (partition by component order by first_seen_at, customer_id) = 1
)

select
    c.identifier,
    c.label as component,
    coalesce(
        k.customer_id,
        -- a new component; never reuse an id another component kept
        case when md5(c.label) in (select customer_id from kept) then md5(c.label || chr(31) || $run_id)
             else md5(c.label) end
    ) as customer_id,
    coalesce(k.first_run, $run_id) as first_run,
    coalesce(k.first_seen_at, $run_started) as first_seen_at
from node_components as c
left join kept as k on k.component = c.label
