-- funnel_events: the events the funnel reads, each with the unit it counts for (grain: event_id).
-- Unit customer (the default): every classified event counts for its customer
-- (unit_id = customer_id). Only the columns the funnel steps read are kept.
select
    customer_id as unit_id,
    customer_id,
    event_id,
    event_ts,
    stage,
    stage_order,
    channel,
    source
from classified_events
