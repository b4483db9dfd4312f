-- visit_entry_channels: the channel that brought each stage visit (grain: customer_id, visit_index)
-- (docs/semantics.md, "Attribution"): the channel of the last touchpoint (event with a channel) at
-- or before the visit's first event in the event order (event_ts, stage_order with unstaged events
-- last, event_id; the first event itself included); '(none)' when there is none.
-- stage_entry_channels counts them per stage.
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
        cast(null as bigint) as visit_index,
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
        visit_index,
        stage as entered_stage,
        stage_order as entered_order
    from stage_visits
),

entries as (
    select
        customer_id,
        visit_index,
        entered_stage,
        entered_order,
        coalesce(last_value(channel ignore nulls) over (
            partition by customer_id order by event_ts, stage_order, event_id, marker
            rows between unbounded preceding and current row
        ), '(none)') as channel,
        marker
    from marked
)

select customer_id, visit_index, entered_stage as stage, entered_order as stage_order, channel
from entries
where marker = 1
