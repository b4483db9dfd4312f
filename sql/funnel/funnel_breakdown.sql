-- funnel_breakdown: one row per configured breakdown, value and funnel step (grain: breakdown,
-- value, step), with the funnel table's counts and rates computed within each value.
-- Each unit (customer, deal or session) that entered the funnel (has a step-1 row in
-- funnel_customer_steps) gets exactly one value per breakdown, so the customers (units) of a step
-- summed over a breakdown's values equal the funnel's customers at that step.
-- The entry event: the step-1 event; where step 1 is implied (furthest mode) the customer's
-- first event at entered_at among the steps' events (lowest step).
-- first_channel / last_channel: channel of the first / last event with a channel whose
-- event_ts <= entered_at, in the total order (event_ts, stage_order, event_id).
-- entry_source: source of the entry event. cohort: date_trunc($cohort_period, entered_at) as
-- 'YYYY-MM-DD'. properties.<name>: that property of the entry event.
-- Missing or empty values are '(none)'. Other values beyond the top $top_n by step-1 customers
-- (ties by value) are summed into '(other)'; '(none)' is always kept and takes no place in the top.
-- The cohort breakdown keeps the latest $top_n periods instead (contiguous, however many entries
-- each has; the earlier ones are '(other)'), and is_complete says whether every entry of the
-- cohort has had its whole window before the data's last event (as funnel_trends.is_complete;
-- null for other breakdowns and for '(other)').
-- Every funnel step is listed for every value (customers 0 where nobody reached it).
with

customer_steps as (
    select * from funnel_customer_steps
),

events as (
    select unit_id, event_id, event_ts, stage_order, channel, source from funnel_events
),

breakdowns as (
    select distinct breakdown, property_name from cfg_breakdowns
),

steps as (
    select step, stage, stage_order from cfg_funnel_steps
),

entrants as (
    select unit_id, entered_at
    from customer_steps
    where step = 1
),

entry_events as (
    select
        cs.unit_id,
        arg_min(cs.event_id, cs.step) as event_id
    from customer_steps as cs
    join entrants as en on en.unit_id = cs.unit_id
    where cs.event_id is not null
        and (cs.step = 1 or cs.event_ts = en.entered_at)
    group by cs.unit_id
),

touches as (
    select
        en.unit_id,
        arg_min(e.channel, (e.event_ts, e.stage_order, e.event_id)) as first_channel,
        arg_max(e.channel, (e.event_ts, e.stage_order, e.event_id)) as last_channel
    from entrants as en
    join events as e on e.unit_id = en.unit_id
    where e.channel is not null
        and e.event_ts <= en.entered_at
    group by en.unit_id
),

attributes as (
    select
        en.unit_id,
        t.first_channel,
        t.last_channel,
        e.source as entry_source,
        strftime(date_trunc($cohort_period, en.entered_at), '%Y-%m-%d') as cohort,
        c.properties as entry_properties
    from entrants as en
    left join touches as t on t.unit_id = en.unit_id
    left join entry_events as ee on ee.unit_id = en.unit_id
    left join events as e on e.event_id = ee.event_id
    left join classified_events as c on c.event_id = ee.event_id
),

raw_values as (
    select
        b.breakdown,
        a.unit_id,
        coalesce(nullif(
            case b.breakdown
                when 'first_channel' then a.first_channel
                when 'last_channel' then a.last_channel
                when 'entry_source' then a.entry_source
                when 'cohort' then a.cohort
                else a.entry_properties[b.property_name]
            end, ''), '(none)') as value
    from attributes as a
    cross join breakdowns as b
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
    select max(event_ts) as last_ts from classified_events
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
