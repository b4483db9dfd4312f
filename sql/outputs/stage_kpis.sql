-- stage_kpis: one row per configured stage KPI (grain: stage, kpi): the target from the
-- config (cfg_stage_kpis), the actual value from the funnel, and whether it is met.
--   conversion_to_next_min: customers(next step) / customers(step); met when actual >= target.
--   median_time_to_next_max: ttc_median_s (seconds to the next step); met when actual <= target.
--   drop_off_rate_max: drop_off_rate; met when actual <= target.
-- met is null when actual is (no customers at the step, no converters, or the stage is not a
-- funnel step). gap: how much better than the target the actual is, in the KPI's unit (ratio or
-- seconds): actual - target for a minimum (_min), target - actual for a maximum (_max), so a
-- positive gap is always better than the target, a negative one worse (and met = gap >= 0).
with

targets as (
    select stage, stage_order, kpi, target, unit from cfg_stage_kpis
),

steps as (
    select * from funnel
),

actuals as (
    select
        t.stage_order,
        t.stage,
        t.kpi,
        t.target,
        case t.kpi
            when 'conversion_to_next_min' then cast(nxt.customers as double) / nullif(cur.customers, 0)
            when 'median_time_to_next_max' then cur.ttc_median_s
            when 'drop_off_rate_max' then cur.drop_off_rate
        end as actual,
        t.unit
    from targets as t
    left join steps as cur on cur.stage = t.stage
    left join steps as nxt on nxt.step = cur.step + 1
)

select
    stage_order,
    stage,
    kpi,
    target,
    actual,
    unit,
    case kpi
        when 'conversion_to_next_min' then actual >= target
        when 'median_time_to_next_max' then actual <= target
        when 'drop_off_rate_max' then actual <= target
    end as met,
    case when kpi like '%\_min' escape '\' then actual - target else target - actual end as gap
from actuals
