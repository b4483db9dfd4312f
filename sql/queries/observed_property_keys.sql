-- observed_property_keys: the property names the events carry ('properties.<name>' in a stage
-- rule), each with its events, most frequent first, at most $limit of them: where "did you
-- mean" looks when a rule names a property no event has (cjm_pipeline/coverage.py).
with

property_keys as (
    select unnest(map_keys(properties)) as property_name
    from events
)

select property_name, count(*) as events
from property_keys
group by property_name
order by events desc, property_name
limit $limit
