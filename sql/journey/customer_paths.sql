-- customer_paths: each customer's stage paths (grain: customer_id), over customers with at least
-- one stage visit: full_path, the stages of all visits in visit order joined with '>' (as
-- journeys.stage_path; n_visits items); collapsed_path, each stage once, in order of its first
-- visit ('a>b>a>b>c' -> 'a>b>c'; n_stages items); duration_s, seconds from the first visit entry
-- to the last. paths counts them.
with

visits as (
    select * from stage_visits
),

customers as (
    select
        customer_id,
        string_agg(stage, '>' order by visit_index) as full_path,
        count(*) as n_visits,
        epoch(max(entered_at)) - epoch(min(entered_at)) as duration_s
    from visits
    group by customer_id
),

first_entries as (
    select
        customer_id,
        stage,
        min(visit_index) as visit_index
    from visits
    group by customer_id, stage
),

collapsed as (
    select
        customer_id,
        string_agg(stage, '>' order by visit_index) as collapsed_path,
        count(*) as n_stages
    from first_entries
    group by customer_id
)

select c.customer_id, c.full_path, c.n_visits, k.collapsed_path, k.n_stages, c.duration_s
from customers as c
join collapsed as k on k.customer_id = c.customer_id
