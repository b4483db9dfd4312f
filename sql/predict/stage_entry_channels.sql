-- stage_entry_channels: one row per stage and channel (grain: stage, channel): which channels bring
-- customers into each stage (docs/semantics.md, "Attribution"). Each stage visit is credited to the
-- channel of the last touchpoint (event with a channel) at or before the visit's first event in
-- the event order (event_ts, stage_order with unstaged events last, event_id; the first event
-- itself included); '(none)' when there is none. visits: visits entered so; customers: distinct
-- customers among them; share: of the stage's visits.
with

-- the touchpoints, and each visit's first event as a marker just after it (the same event may be both)
marked as (
    select
        customer_id,
        event_ts,
        stage_order,
        event_id,
        0 as marker,
        channel,
        cast(null as varchar) as entered_stage,
        cast(null as bigint) as entered_order
    from classified_events
    where channel is not null
    union all
    select
        customer_id,
        entered_at as event_ts,
        stage_order,
        first_event_id as event_id,
        1 as marker,
        cast(null as varchar) as channel,
        stage as entered_stage,
        stage_order as entered_order
    from stage_visits
),

entries as (
    select
        customer_id,
        entered_stage,
        entered_order,
        coalesce(last_value(channel ignore nulls) over (
            partition by customer_id order by event_ts, stage_order, event_id, marker
            rows between unbounded preceding and current row
        ), '(none)') as channel,
        marker
    from marked
),

counted as (
    select
        entered_stage as stage,
        entered_order as stage_order,
        channel,
        count(*) as visits,
        count(distinct customer_id) as customers
    from entries
    where marker = 1
    group by entered_stage, entered_order, channel
)

select
    stage,
    stage_order,
    channel,
    visits,
    customers,
    cast(visits as double) / sum(visits) over (partition by stage) as share
from counted
