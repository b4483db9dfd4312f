-- paths: the most common stage paths (grain: path_kind, stage_path), over customers with at
-- least one stage visit; each such customer has exactly one path of each kind.
-- path_kind 'full': the stages of all visits in visit order joined with '>' (as journeys.stage_path).
-- path_kind 'collapsed': each stage once, in order of its first visit ('a>b>a>b>c' -> 'a>b>c').
-- rank: 1 = most customers, ties broken by stage_path; the top $top_paths paths of each kind
-- are kept and the rest are summed into one '(other)' row (rank $top_paths + 1, n_stages null),
-- present only when there is a rest. So customers sum to the customers with a visit, shares to 1.
-- n_stages: items in stage_path (visits for full, distinct stages for collapsed).
-- share: customers / customers with a visit; cumulative_share: share of ranks 1..rank.
-- converted: customers on the path who converted (journeys.converted: reached the main funnel's
-- goal step, its last step, under the funnel's settings); conversion = converted / customers.
-- median_duration_s: median over the path's customers of seconds from their first visit entry
-- to their last visit entry. Each customer's paths are in customer_paths.
with

path_rows as (
    select 'full' as path_kind, c.customer_id, c.full_path as stage_path, c.n_visits as n_stages, c.duration_s,
        j.converted as is_converted
    from customer_paths as c
    join journeys as j on j.customer_id = c.customer_id
    union all
    select 'collapsed' as path_kind, c.customer_id, c.collapsed_path as stage_path, c.n_stages, c.duration_s,
        j.converted as is_converted
    from customer_paths as c
    join journeys as j on j.customer_id = c.customer_id
),

path_counts as (
    select
        path_kind,
        stage_path,
        n_stages,
        count(*) as customers,
        count(*) filter (where is_converted) as converted,
        median(duration_s) as median_duration_s
    from path_rows
    group by path_kind, stage_path, n_stages
),

-- rank by customers, ties broken by stage_path (unique within a path kind)
ranks as (
    select
        path_kind,
        stage_path,
        row_number() over (partition by path_kind order by customers desc, stage_path) as rank,
        sum(customers) over (
            partition by path_kind order by customers desc, stage_path
            rows between unbounded preceding and current row
        ) as cumulative_customers,
        sum(customers) over (partition by path_kind) as total_customers
    from path_counts
),

top_paths as (
    select
        p.path_kind,
        r.rank,
        p.stage_path,
        p.n_stages,
        p.customers,
        p.customers / r.total_customers as share,
        p.converted,
        p.converted / p.customers as conversion,
        p.median_duration_s,
        r.cumulative_customers / r.total_customers as cumulative_share
    from path_counts as p
    join ranks as r
        on r.path_kind = p.path_kind
        and r.stage_path = p.stage_path
    where r.rank <= $top_paths
),

other_paths as (
    select
        cp.path_kind,
        min(r.rank) as rank,
        '(other)' as stage_path,
        cast(null as bigint) as n_stages,
        count(*) as customers,
        count(*) / any_value(r.total_customers) as share,
        count(*) filter (where cp.is_converted) as converted,
        count(*) filter (where cp.is_converted) / count(*) as conversion,
        median(cp.duration_s) as median_duration_s,
        cast(1 as double) as cumulative_share
    from path_rows as cp
    join ranks as r
        on r.path_kind = cp.path_kind
        and r.stage_path = cp.stage_path
    where r.rank > $top_paths
    group by cp.path_kind
)

select * from top_paths
union all
select * from other_paths
