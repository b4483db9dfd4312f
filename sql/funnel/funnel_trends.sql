-- funnel_trends: one row per entry period and funnel step (grain: period_start, step).
-- A unit (customer, deal or session) can enter in several periods ($trend_period: day, week or month of the attempt's
-- step-1 event, UTC); each period counts the best attempt that started in it. customers: those
-- whose best attempt of the period reached the step; conversion from any step i to a later step
-- j of a period is customers(j) / customers(i). is_complete: every entry of the period has had
-- its whole window before the data's last event (later periods may still grow).
with

steps as (
    select step, stage from cfg_funnel_steps
),

attempts as (
    select unit_id, attempt, date_trunc($trend_period, min(entered_at)) as period_start, max(step) as furthest
    from funnel_attempts
    group by unit_id, attempt
),

best as (
    select period_start, unit_id, max(furthest) as furthest
    from attempts
    group by period_start, unit_id
),

periods as (
    select distinct period_start from best
),

counted as (
    select
        p.period_start,
        s.step,
        s.stage,
        count(b.unit_id) as customers
    from periods as p
    cross join steps as s
    left join best as b on b.period_start = p.period_start and b.furthest >= s.step
    group by p.period_start, s.step, s.stage
)

select
    period_start,
    step,
    stage,
    customers,
    customers / nullif(lag(customers) over w, 0) as conversion_from_previous,
    customers / nullif(first_value(customers) over w, 0) as conversion_from_start,
    case $trend_period
        when 'day' then period_start + interval 1 day
        when 'week' then period_start + interval 7 day
        else period_start + interval 1 month
    end + to_seconds($window_s) <= (select max(event_ts) from classified_events) as is_complete
from counted
window w as (partition by period_start order by step)
