-- observed_values: the distinct values one stage-rule key takes in the events ($cond_key: a
-- unified column, or 'properties.<name>' with $property_name), each with its events, most
-- frequent first, at most $limit of them: where "did you mean" looks when a key matches no event
-- (cjm_pipeline/coverage.py).
with

key_values as (
    select
        case $cond_key
            when 'event_type' then event_type
            when 'channel' then channel
            when 'utm_source' then utm_source
            when 'utm_medium' then utm_medium
            when 'utm_campaign' then utm_campaign
            when 'url' then url
            when 'source' then source
            when 'source_system' then source_system
            else properties[$property_name]
        end as value
    from events
)

select value, count(*) as events
from key_values
where value is not null
group by value
order by events desc, value
limit $limit
