-- attribution: one row per channel and model (grain: channel, model): the goal conversions and their
-- revenue credited to each channel by first_touch, last_touch, linear, time_decay, position_based
-- (attribution_heuristics) and markov (attribution_markov: removal effects), side by side
-- (docs/semantics.md, "Attribution"). share: the channel's part of the model's conversions (null
-- when there are none). In every model the conversions add up to the number of converters.
-- Every channel appears in every model (0 where a model credits it nothing).
with

credited as (
    select channel, model, conversions, revenue from attribution_heuristics
    union all
    select channel, 'markov' as model, conversions, revenue from attribution_markov
),

models as (
    select * from (values
        (1, 'first_touch'), (2, 'last_touch'), (3, 'linear'), (4, 'time_decay'), (5, 'position_based'), (6, 'markov')
    ) as m(model_order, model)
),

channels as (
    select distinct channel from credited
),

grid as (
    select c.channel, m.model, m.model_order
    from channels as c
    cross join models as m
),

filled as (
    select g.channel, g.model, g.model_order, coalesce(c.conversions, 0) as conversions,
        coalesce(c.revenue, 0) as revenue
    from grid as g
    left join credited as c on c.channel = g.channel and c.model = g.model
)

select
    channel,
    model,
    model_order,
    conversions,
    case when sum(conversions) over (partition by model) > 0
        then conversions / sum(conversions) over (partition by model) end as share,
    revenue
from filled
