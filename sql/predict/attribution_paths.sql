-- attribution_paths: one row per move between two states of the attribution chain (grain:
-- from_state, to_state), the input of the Markov model (docs/semantics.md, "Attribution"). States:
-- '(start)', the channels (and '(none)'), '(conversion)', '(null)'. Every customer's path gives the
-- moves (start) -> first touch -> ... -> last touch, then -> (conversion) for a converter (their
-- path up to the conversion: attribution_touches) or -> (null) for everyone else (their path: all
-- their touchpoints in the event order); a channel repeated in a row is a move too. A customer
-- without any touchpoint goes (start) -> (none) -> (conversion) or (null). transitions: moves summed
-- over customers; customers: distinct customers who made the move; revenue: the conversions'
-- revenue on the moves into '(conversion)' (null elsewhere).
with

converters as (
    select customer_id, channel, pos, n_touches, revenue from attribution_touches
),

-- everyone else's touchpoints
others as (
    select e.customer_id, e.event_ts, e.stage_order, e.event_id, e.channel
    from classified_events as e
    left join (select distinct customer_id from converters) as c on c.customer_id = e.customer_id
    where e.channel is not null and c.customer_id is null
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
),

counted as (
    select from_state, to_state, count(*) as transitions, count(distinct customer_id) as customers,
        sum(revenue) as revenue
    from moves
    group by from_state, to_state
),

-- customers with no touchpoint who did not convert: (start) -> (none) -> (null)
silent as (
    select
        (select count(distinct customer_id) from classified_events)
        - (select count(distinct customer_id) from converters)
        - (select count(distinct customer_id) from others) as n
),

silent_moves as (
    select '(start)' as from_state, '(none)' as to_state, n as transitions, n as customers,
        cast(null as double) as revenue
    from silent
    where n > 0
    union all
    select '(none)' as from_state, '(null)' as to_state, n as transitions, n as customers,
        cast(null as double) as revenue
    from silent
    where n > 0
),

cells as (
    select * from counted
    union all
    select * from silent_moves
)

select
    from_state,
    to_state,
    cast(sum(transitions) as bigint) as transitions,
    cast(sum(customers) as bigint) as customers,
    sum(revenue) as revenue
from cells
group by from_state, to_state
