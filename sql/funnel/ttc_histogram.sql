-- ttc_histogram: one row per funnel step but the last and time bin (grain: step, bin_index):
-- how many customers took how long from step k's event to step k+1's event.
-- Over customers with both events and the next one not earlier (as funnel.sql's ttc_*_s), so a
-- step's customers sum to the customers behind its ttc_*_s. Bins are fixed [lower_s, upper_s):
-- <1m, 1-10m, 10m-1h, 1-6h, 6-24h, 1-3d, 3-7d, 7-30d, 30d+ (upper_s null). Every bin is listed
-- (customers 0 where empty). share = customers / the step's converters, null when there are none.
with

customer_steps as (
    select * from funnel_customer_steps
),

steps as (
    select step, stage from cfg_funnel_steps
),

bins as (
    select bin_index, bin_label, cast(lower_s as bigint) as lower_s, cast(upper_s as bigint) as upper_s
    from (values
        (1, '<1m', 0, 60),
        (2, '1–10m', 60, 600),
        (3, '10m–1h', 600, 3600),
        (4, '1–6h', 3600, 21600),
        (5, '6–24h', 21600, 86400),
        (6, '1–3d', 86400, 259200),
        (7, '3–7d', 259200, 604800),
        (8, '7–30d', 604800, 2592000),
        (9, '30d+', 2592000, null)
    ) as b(bin_index, bin_label, lower_s, upper_s)
),

step_pairs as (
    select
        cur.step,
        cur.stage,
        nxt.stage as next_stage
    from steps as cur
    join steps as nxt on nxt.step = cur.step + 1
),

step_times as (
    select step, ttc_s
    from customer_steps
    where ttc_s is not null
),

binned as (
    select
        t.step,
        b.bin_index,
        count(*) as customers
    from step_times as t
    join bins as b on t.ttc_s >= b.lower_s and (b.upper_s is null or t.ttc_s < b.upper_s)
    group by t.step, b.bin_index
),

counted as (
    select
        p.step,
        p.stage,
        p.next_stage,
        b.bin_index,
        b.bin_label,
        b.lower_s,
        b.upper_s,
        coalesce(n.customers, 0) as customers
    from step_pairs as p
    cross join bins as b
    left join binned as n on n.step = p.step and n.bin_index = b.bin_index
)

select
    step,
    stage,
    next_stage,
    bin_index,
    bin_label,
    lower_s,
    upper_s,
    customers,
    customers / nullif(sum(customers) over (partition by step), 0) as share
from counted
