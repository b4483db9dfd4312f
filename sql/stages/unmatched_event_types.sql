-- unmatched_event_types: one row per (source, event_type) whose events matched no stage rule,
-- most frequent first: where to look when stage coverage is lower than expected.
select
    source,
    event_type,
    count(*) as events,
    count(distinct customer_id) as customers
from classified_events
where stage is null
group by source, event_type
