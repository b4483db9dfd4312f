-- funnel_events: the events the funnel reads, each with the unit it counts for (grain: event_id).
-- Unit session: a customer's events, staged or not, in the total order (event_ts, stage_order,
-- event_id), split wherever an event comes more than $session_gap_s seconds after the previous
-- one (30 minutes by default, as web analytics counts visits). unit_id is
-- '<customer_id>#<n>', n = 1 for the customer's first session.
with

marked as (
    select
        *,
        case
            when lag(event_ts) over w is null then 1
            when event_ts > lag(event_ts) over w + to_seconds($session_gap_s) then 1
            else 0
        end as starts_session
    from classified_events
    window w as (partition by customer_id order by event_ts, stage_order, event_id)
)

select
    customer_id || '#' || sum(starts_session) over (
        partition by customer_id order by event_ts, stage_order, event_id
        rows between unbounded preceding and current row
    ) as unit_id,
    customer_id,
    event_id,
    event_ts,
    stage,
    stage_order,
    channel,
    source
from marked
