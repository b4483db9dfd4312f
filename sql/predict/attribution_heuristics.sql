-- attribution_heuristics: one row per channel and heuristic model (grain: channel, model): the
-- conversions (and their revenue) credited to the channel by each model over the converters' paths
-- of attribution_touches (docs/semantics.md, "Attribution"). Each conversion is worth 1, shared
-- among its path's touches: first_touch (all to the first), last_touch (all to the last), linear
-- (1/n to each touch: a channel repeated in the path earns once per touch), time_decay (in
-- proportion to 2^(-(t_conversion - t_touch) / $half_life_s)), position_based (40 % to the first,
-- 40 % to the last, 20 % shared by the ones between; a path of one touch gives it all, of two
-- touches half each). A path without a touchpoint credits '(none)'. revenue: the conversion's
-- revenue in the same shares.
with

touches as (
    select * from attribution_touches
),

decayed as (
    select
        *,
        -- relative to the path's last touch, so the largest weight is 1 (no underflow)
        coalesce(power(cast(2 as double), -(max(epoch(event_ts)) over (partition by customer_id) - epoch(event_ts))
            / $half_life_s), cast(1 as double)) as decay
    from touches
),

weights as (
    select
        channel,
        revenue,
        case when pos = 1 then cast(1 as double) else cast(0 as double) end as first_touch,
        case when pos = n_touches then cast(1 as double) else cast(0 as double) end as last_touch,
        cast(1 as double) / n_touches as linear,
        decay / sum(decay) over (partition by customer_id) as time_decay,
        case
            when n_touches = 1 then cast(1 as double)
            when n_touches = 2 then cast(1 as double) / 2
            when pos = 1 or pos = n_touches then cast(2 as double) / 5
            else cast(1 as double) / 5 / (n_touches - 2)
        end as position_based
    from decayed
),

credits as (
    select channel, 'first_touch' as model, first_touch as credit, revenue from weights
    union all
    select channel, 'last_touch' as model, last_touch as credit, revenue from weights
    union all
    select channel, 'linear' as model, linear as credit, revenue from weights
    union all
    select channel, 'time_decay' as model, time_decay as credit, revenue from weights
    union all
    select channel, 'position_based' as model, position_based as credit, revenue from weights
)

select
    channel,
    model,
    sum(credit) as conversions,
    sum(credit * revenue) as revenue
from credits
group by channel, model
