-- goal_rates: one row per fit, configured stage and time bucket (grain: fit, stage, bucket): of the
-- visits of the stage still in it after the bucket's start, the share that reached the goal stage
-- within the window after that moment (docs/semantics.md, "Predictions for open journeys").
-- fit 'current' counts what the data cutoff allows (the predictions use it); fit 'backtest' only
-- what was known at the cutoff minus the window (prediction_backtest uses it).
-- A reference visit of (stage, bucket): a visit of the stage whose next visit, if any, began no
-- earlier than bucket_start_s after entering it, and whose window after that moment
-- (entered_at + bucket_start_s + $predict_window_s) ended by the fit's cutoff; it counts in
-- reached_goal when the customer's first later visit of the goal stage began by then. rate = reached_goal /
-- reference_visits (null without reference visits). Bucket 1 (from 0 s) is every visit of the
-- stage: the stage's overall rate, the naive baseline. Buckets start at 0, 1 h, 1 d, 3 d, 7 d,
-- 14 d, 30 d, 60 d, 90 d, 180 d and 365 d; only those starting before the window are listed.
with

cutoff as (
    select epoch(max(event_ts)) as cutoff_s from classified_events
),

fits as (
    select 'current' as fit, cutoff_s as fit_s from cutoff
    union all
    select 'backtest' as fit, cutoff_s - $predict_window_s as fit_s from cutoff
),

buckets as (
    select * from (values
        (1, 0, 3600), (2, 3600, 86400), (3, 86400, 259200), (4, 259200, 604800), (5, 604800, 1209600),
        (6, 1209600, 2592000), (7, 2592000, 5184000), (8, 5184000, 7776000), (9, 7776000, 15552000),
        (10, 15552000, 31536000), (11, 31536000, null)
    ) as b(bucket, bucket_start_s, bucket_end_s)
),

grid as (
    select f.fit, f.fit_s, s.stage, s.stage_order, b.bucket, b.bucket_start_s, b.bucket_end_s
    from fits as f
    cross join cfg_stages as s
    cross join buckets as b
    where b.bucket_start_s < $predict_window_s
),

visits as (
    select
        stage,
        epoch(entered_at) as entered_s,
        stayed_s,
        epoch(next_goal_at) - epoch(entered_at) as goal_after_s
    from visit_outcomes
),

reference as (
    select
        g.fit,
        g.stage,
        g.bucket,
        count(*) as reference_visits,
        count(*) filter (where v.goal_after_s <= g.bucket_start_s + $predict_window_s) as reached_goal
    from grid as g
    join visits as v on v.stage = g.stage
    where v.entered_s + g.bucket_start_s + $predict_window_s <= g.fit_s
        and (v.stayed_s is null or v.stayed_s >= g.bucket_start_s)
    group by g.fit, g.stage, g.bucket
)

select
    g.fit,
    g.stage,
    g.stage_order,
    g.bucket,
    g.bucket_start_s,
    g.bucket_end_s,
    coalesce(r.reference_visits, 0) as reference_visits,
    coalesce(r.reached_goal, 0) as reached_goal,
    cast(r.reached_goal as double) / r.reference_visits as rate
from grid as g
left join reference as r on r.fit = g.fit and r.stage = g.stage and r.bucket = g.bucket
