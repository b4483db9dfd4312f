-- stage_dwell: one row per configured stage (grain: stage): how long customers stay in it.
-- dwell of a visit = left_at - entered_at in seconds, i.e. until the customer's next stage
-- visit began. The current (last) visit of each customer has no end yet: it counts in visits
-- and open_visits but not in the dwell statistics, which are over visits - open_visits closed
-- visits. customers: distinct customers with a visit. Stages nobody visited get zeros and
-- null dwell statistics.
with

stages as (
    select stage, stage_order from cfg_stages
),

visits as (
    select
        customer_id,
        stage,
        epoch(left_at) - epoch(entered_at) as dwell_s
    from stage_visits
),

per_stage as (
    select
        stage,
        count(*) as visits,
        count(distinct customer_id) as customers,
        count(*) filter (where dwell_s is null) as open_visits,
        quantile_cont(dwell_s, 0.5) as dwell_median_s,
        quantile_cont(dwell_s, 0.9) as dwell_p90_s,
        avg(dwell_s) as dwell_mean_s
    from visits
    group by stage
)

select
    s.stage_order,
    s.stage,
    coalesce(p.visits, 0) as visits,
    coalesce(p.customers, 0) as customers,
    coalesce(p.open_visits, 0) as open_visits,
    p.dwell_median_s,
    p.dwell_p90_s,
    p.dwell_mean_s
from stages as s
left join per_stage as p on p.stage = s.stage
