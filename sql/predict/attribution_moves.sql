-- attribution_moves: each customer's moves between states of the attribution chain, counted (grain:
-- customer_id, from_state, to_state); attribution_paths sums them over customers (docs/semantics.md,
-- "Attribution"). States: '(start)', the channels (and '(none)'), '(conversion)', '(null)'. A
-- customer's path gives the moves (start) -> first touch -> ... -> last touch, then -> (conversion)
-- for a converter (their path up to the conversion: attribution_touches) or -> (null) for everyone
-- else (their path: all their touchpoints in the event order); a channel repeated in a row is a
-- move too. A customer without any touchpoint who did not convert goes (start) -> (none) -> (null).
-- transitions: how often the customer made the move; revenue: the conversion's revenue on the move
-- into '(conversion)' (null elsewhere).
with

converters as (
    select customer_id, channel, pos, n_touches, revenue from attribution_touches
),

customers as (
    select customer_id, bool_or(channel is not null) as has_touch
    from classified_events
    group by customer_id
),

-- everyone else's touchpoints
others as (
    select e.customer_id, e.event_ts, e.stage_order, e.event_id, e.channel
    from classified_events as e
    anti join (select distinct customer_id from converters) as c on c.customer_id = e.customer_id
    where e.channel is not null
),

other_steps as (
    select
        customer_id,
        coalesce(lag(channel) over w, '(start)') as from_state,
        channel as to_state,
        lead(event_id) over w is null as is_last
    from others
    window w as (partition by customer_id order by event_ts, stage_order, event_id)
),

converter_steps as (
    select
        customer_id,
        coalesce(lag(channel) over (partition by customer_id order by pos), '(start)') as from_state,
        channel as to_state,
        pos = n_touches as is_last,
        revenue
    from converters
),

-- customers with no touchpoint who did not convert
silent as (
    select c.customer_id
    from customers as c
    anti join (select distinct customer_id from converters) as v on v.customer_id = c.customer_id
    where not c.has_touch
),

moves as (
    select customer_id, from_state, to_state, cast(null as double) as revenue from other_steps
    union all
    select customer_id, to_state as from_state, '(null)' as to_state, cast(null as double) as revenue
    from other_steps
    where is_last
    union all
    select customer_id, from_state, to_state, cast(null as double) as revenue from converter_steps
    union all
    select customer_id, to_state as from_state, '(conversion)' as to_state, revenue
    from converter_steps
    where is_last
    union all
    select customer_id, '(start)' as from_state, '(none)' as to_state, cast(null as double) as revenue from silent
    union all
    select customer_id, '(none)' as from_state, '(null)' as to_state, cast(null as double) as revenue from silent
)

select customer_id, from_state, to_state, count(*) as transitions, sum(revenue) as revenue
from moves
group by customer_id, from_state, to_state
