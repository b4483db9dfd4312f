-- barriers: one row per barrier kind and rank (grain: barrier_kind, rank): the top 5 places
-- where the journey loses the most customers or time, with the numbers behind each rank.
--   drop_off:   funnel steps by customers dropped before the next step (value: dropped;
--               customers: reached the step; rate: drop_off_rate). Steps dropping nobody are left out.
--   slow_step:  funnel steps by median seconds to the next step (value: ttc_median_s;
--               customers: reached the next step, whom the median is over).
--   back_steps: back transitions of the transition matrix by customers who made them (value:
--               customers; transitions: how many times). stage is the from-stage.
-- Ties go to the earlier step, and for back-steps to the earlier (from_order, to_order).
with

steps as (
    select * from funnel
),

next_steps as (
    select
        cur.step,
        cur.stage,
        nxt.stage as to_stage,
        cur.customers,
        nxt.customers as next_customers,
        cur.dropped,
        cur.drop_off_rate,
        cur.ttc_median_s
    from steps as cur
    join steps as nxt on nxt.step = cur.step + 1
),

back_moves as (
    select from_stage, from_order, to_stage, to_order, customers, transitions
    from transitions
    where kind = 'back'
),

candidates as (
    select
        'drop_off' as barrier_kind,
        step,
        cast(null as integer) as from_order,
        cast(null as integer) as to_order,
        stage,
        to_stage,
        customers,
        cast(dropped as double) as value,
        'customers' as value_unit,
        drop_off_rate as rate,
        cast(null as bigint) as transitions,
        format('{} → {} loses {} of {} customers ({:.1f}%)',
            stage, to_stage, dropped, customers, 100 * drop_off_rate) as description
    from next_steps
    where dropped > 0

    union all

    select
        'slow_step' as barrier_kind,
        step,
        null as from_order,
        null as to_order,
        stage,
        to_stage,
        next_customers as customers,
        ttc_median_s as value,
        'seconds' as value_unit,
        null as rate,
        null as transitions,
        format('{} → {} takes a median of {} ({} {})',
            stage, to_stage,
            case
                when ttc_median_s >= 86400 then format('{:.1f} days', ttc_median_s / 86400)
                when ttc_median_s >= 3600 then format('{:.1f} hours', ttc_median_s / 3600)
                when ttc_median_s >= 60 then format('{:.1f} minutes', ttc_median_s / 60)
                else format('{:.0f} seconds', ttc_median_s)
            end,
            next_customers, if(next_customers = 1, 'customer', 'customers')) as description
    from next_steps
    where ttc_median_s is not null

    union all

    select
        'back_steps' as barrier_kind,
        null as step,
        from_order,
        to_order,
        from_stage as stage,
        to_stage,
        customers,
        cast(customers as double) as value,
        'customers' as value_unit,
        null as rate,
        transitions,
        format('{} → {}: {} {} stepped back ({} {})',
            from_stage, to_stage, customers, if(customers = 1, 'customer', 'customers'),
            transitions, if(transitions = 1, 'time', 'times')) as description
    from back_moves
),

ranked as (
    select
        *,
        row_number() over (
            partition by barrier_kind order by value desc, step, from_order, to_order
        ) as rank
    from candidates
)

select
    barrier_kind,
    rank,
    stage,
    to_stage,
    customers,
    value,
    value_unit,
    rate,
    transitions,
    description
from ranked
where rank <= 5
