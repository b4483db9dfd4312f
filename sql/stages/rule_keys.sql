-- rule_keys: one row: the keys some rule tests (keys) and the property names among them (props),
-- over the stage rules (cfg_rule_conditions) and the journey map's feedback and pain rules
-- (cfg_map_conditions). An event's signature (event_signatures) holds the values of these keys.
-- (sorted: the lists are read by several queries, and an engine may compute them more than once,
-- so their order must be fixed)
with

conditions as (
    select cond_key, property_name from cfg_rule_conditions
    union all
    select cond_key, property_name from cfg_map_conditions
)

select
    coalesce(list(distinct cond_key order by cond_key), []) as keys,
    coalesce(list(distinct property_name order by property_name) filter (where property_name is not null), [])
        as props
from conditions
