-- funnel_breakdown: one row per configured breakdown, value and funnel step (grain: breakdown,
-- value, step), with the funnel table's counts and rates computed within each value. Each unit
-- (customer, deal or session) that entered the funnel has exactly one value per breakdown
-- (funnel_unit_values), so the customers (units) of a step summed over a breakdown's values equal
-- the funnel's customers at that step.
-- Other values beyond the top $top_n by step-1 customers (ties by value) are summed into
-- '(other)'; '(none)' is always kept and takes no place in the top.
-- The cohort breakdown keeps the latest $top_n periods instead (contiguous, however many entries
-- each has; the earlier ones are '(other)'), and is_complete says whether every entry of the
-- cohort has had its whole window before the data's last event (data_cutoff; as
-- funnel_trends.is_complete; null for other breakdowns and for '(other)').
-- Every funnel step is listed for every value (customers 0 where nobody reached it).
with

customer_steps as (
    select unit_id, step from funnel_customer_steps
),

steps as (
    select step, stage, stage_order from cfg_funnel_steps
),

raw_values as (
    select breakdown, unit_id, value from funnel_unit_values
),

value_counts as (
    select breakdown, value, count(*) as customers
    from raw_values
    where value <> '(none)'
    group by breakdown, value
),

top_values as (
    select
        breakdown,
        unnest(list(value order by case when breakdown = 'cohort' then value end desc, customers desc, value)[1:$top_n])
            as value
    from value_counts
    group by breakdown
),

customer_values as (
    select
        r.breakdown,
        r.unit_id,
        case when r.value = '(none)' or t.value is not null then r.value else '(other)' end as value
    from raw_values as r
    left join top_values as t on t.breakdown = r.breakdown and t.value = r.value
),

reached as (
    select
        v.breakdown,
        v.value,
        cs.step,
        count(*) as customers
    from customer_values as v
    join customer_steps as cs on cs.unit_id = v.unit_id
    group by v.breakdown, v.value, cs.step
),

value_steps as (
    select
        v.breakdown,
        v.value,
        s.step,
        s.stage_order,
        s.stage,
        coalesce(r.customers, 0) as customers
    from (select distinct breakdown, value from customer_values) as v
    cross join steps as s
    left join reached as r on r.breakdown = v.breakdown and r.value = v.value and r.step = s.step
),

last_event as (
    select cutoff_ts as last_ts from data_cutoff
),

counted as (
    select
        *,
        lag(customers) over w as previous_customers,
        first_value(customers) over w as start_customers,
        lead(customers) over w as next_customers
    from value_steps
    window w as (partition by breakdown, value order by step)
)

select
    breakdown,
    value,
    step,
    stage_order,
    stage,
    customers,
    customers / nullif(previous_customers, 0) as conversion_from_previous,
    customers / nullif(start_customers, 0) as conversion_from_start,
    customers - next_customers as dropped,
    (customers - next_customers) / nullif(customers, 0) as drop_off_rate,
    case when breakdown = 'cohort' and value not in ('(other)', '(none)') then
        case $cohort_period
            when 'day' then cast(value as timestamp) + interval 1 day
            when 'week' then cast(value as timestamp) + interval 7 day
            else cast(value as timestamp) + interval 1 month
        end + to_seconds($window_s) <= (select last_ts from last_event)
    end as is_complete
from counted
