-- prediction_calibration: one row per model and decile (grain: model, decile): the back-test's
-- customers with a prediction (prediction_backtest), ranked by predicted probability (ties by
-- customer_id) and cut into ten groups of nearly equal size (fewer with fewer than ten customers);
-- customers, mean_predicted and observed_rate (the share who reached the goal) per group, and the
-- lowest and highest prediction in it. A calibrated model has observed_rate close to mean_predicted.
with

scored as (
    select customer_id, 'model' as model, p_model as p, reached_goal from prediction_backtest where p_model is not null
    union all
    select customer_id, 'baseline' as model, p_baseline as p, reached_goal from prediction_backtest
    where p_baseline is not null
),

binned as (
    select *, ntile(10) over (partition by model order by p, customer_id) as decile
    from scored
)

select
    model,
    decile,
    count(*) as customers,
    avg(p) as mean_predicted,
    avg(cast(reached_goal as integer)) as observed_rate,
    min(p) as min_predicted,
    max(p) as max_predicted
from binned
group by model, decile
