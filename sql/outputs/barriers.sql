-- barriers: one row per barrier kind and rank (grain: barrier_kind, rank): the top 5 places
-- where the journey loses the most customers or time, with the numbers behind each rank.
--   empty_stage: configured stages no event has (stage_coverage.events = 0: their rules match
--               nothing, usually a typo), in stage order: nobody can reach them, so they come
--               before every other barrier (customers: units at the previous funnel step, who
--               all stop there; rate 1; null for a stage outside the funnel or at its step 1).
--   drop_off:   funnel steps by units dropped before the next step (value: dropped;
--               customers: reached the step; rate: drop_off_rate). Steps dropping nobody are left out.
--   slow_step:  funnel steps by median seconds to the next step (value: ttc_median_s;
--               customers: reached the next step, whom the median is over).
--   back_steps: back transitions of the transition matrix by customers who made them (value:
--               customers; transitions: how many times). stage is the from-stage.
-- unit: what customers counts: the funnel's unit ($unit: customer, deal or session) for the funnel
-- kinds, customer for back_steps. Durations in descriptions read '2 d 3 h', '45 min', '30 s'.
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

empty_stages as (
    select
        c.stage_order,
        c.stage,
        s.step,
        p.customers as previous_customers
    from stage_coverage as c
    left join steps as s on s.stage = c.stage
    left join steps as p on p.step = s.step - 1
    where c.stage_order is not null and c.events = 0
),

nouns as (
    select
        case $unit when 'deal' then 'deal' when 'session' then 'session' else 'customer' end as one,
        case $unit when 'deal' then 'deals' when 'session' then 'sessions' else 'customers' end as many
),

-- ttc_median_s in words: two units at most, the smaller one rounded ('2 d 3 h', '3 h 5 min', '4 min', '30 s')
slow_durations as (
    select
        step,
        case
            when round(ttc_median_s / 3600) >= 24 then
                format('{} d', cast(floor(round(ttc_median_s / 3600) / 24) as bigint))
                || if(round(ttc_median_s / 3600) % 24 > 0,
                      format(' {} h', cast(round(ttc_median_s / 3600) % 24 as bigint)), '')
            when round(ttc_median_s / 60) >= 60 then
                format('{} h', cast(floor(round(ttc_median_s / 60) / 60) as bigint))
                || if(round(ttc_median_s / 60) % 60 > 0,
                      format(' {} min', cast(round(ttc_median_s / 60) % 60 as bigint)), '')
            when round(ttc_median_s) >= 60 then format('{} min', cast(round(ttc_median_s / 60) as bigint))
            else format('{} s', cast(round(ttc_median_s) as bigint))
        end as duration
    from next_steps
    where ttc_median_s is not null
),

candidates as (
    select
        'empty_stage' as barrier_kind,
        step,
        cast(stage_order as integer) as from_order,
        cast(null as integer) as to_order,
        stage,
        cast(null as varchar) as to_stage,
        previous_customers as customers,
        cast(0 as double) as value,
        'events' as value_unit,
        if(previous_customers > 0, cast(1 as double), null) as rate,
        cast(null as bigint) as transitions,
        $unit as unit,
        format('{}: no event matched its rules, so nobody can reach it', stage) as description
    from empty_stages

    union all

    select
        'drop_off' as barrier_kind,
        step,
        null as from_order,
        null as to_order,
        stage,
        to_stage,
        customers,
        cast(dropped as double) as value,
        'customers' as value_unit,
        drop_off_rate as rate,
        null as transitions,
        $unit as unit,
        format('{} → {} loses {} of {} {} ({:.1f}%)',
            stage, to_stage, dropped, customers, (select many from nouns), 100 * drop_off_rate) as description
    from next_steps
    where dropped > 0

    union all

    select
        'slow_step' as barrier_kind,
        n.step,
        null as from_order,
        null as to_order,
        n.stage,
        n.to_stage,
        n.next_customers as customers,
        n.ttc_median_s as value,
        'seconds' as value_unit,
        null as rate,
        null as transitions,
        $unit as unit,
        format('{} → {} takes a median of {} ({} {})',
            n.stage, n.to_stage, d.duration, n.next_customers,
            if(n.next_customers = 1, (select one from nouns), (select many from nouns))) as description
    from next_steps as n
    join slow_durations as d on d.step = n.step

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
        'customer' as unit,
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
    unit,
    description
from ranked
where rank <= 5
