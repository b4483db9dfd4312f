-- stage_entry_channels: one row per stage and channel (grain: stage, channel): which channels bring
-- customers into each stage (docs/semantics.md, "Attribution"): the stage visits by the channel that
-- brought them (visit_entry_channels). visits: visits entered so; customers: distinct customers
-- among them; share: of the stage's visits.
with

counted as (
    select
        stage,
        stage_order,
        channel,
        count(*) as visits,
        count(distinct customer_id) as customers
    from visit_entry_channels
    group by stage, stage_order, channel
)

select
    stage,
    stage_order,
    channel,
    visits,
    customers,
    cast(visits as double) / sum(visits) over (partition by stage) as share
from counted
