-- prediction_quality: one row per model, 'model' and 'baseline' (grain: model): how well the
-- back-test's predictions (prediction_backtest) foretold what happened (docs/semantics.md, "Honest
-- quality"). Over the customers with a prediction: customers, reached_goal, observed_rate,
-- mean_predicted; brier: the mean of (p - outcome)^2 (lower is better); auc: the ROC AUC, the
-- chance that a random converter got a higher p than a random non-converter, ties counting half
-- (null when all or none reached the goal). brier_skill and beats_baseline (model row
-- only): 1 - brier / baseline's brier, and whether the model's Brier score is lower.
-- unscored: customers open at the back-test cutoff whose stage had no reference visit.
-- backtest_cutoff_at: the data cutoff minus the window ($predict_window_s).
with

backtest as (
    select * from prediction_backtest
),

models as (
    select * from (values (1, 'model'), (2, 'baseline')) as m(model_order, model)
),

scored as (
    select 'model' as model, p_model as p, reached_goal from backtest where p_model is not null
    union all
    select 'baseline' as model, p_baseline as p, reached_goal from backtest where p_baseline is not null
),

totals as (
    select
        model,
        count(*) as customers,
        count(*) filter (where reached_goal) as reached_goal,
        avg(cast(reached_goal as integer)) as observed_rate,
        avg(p) as mean_predicted,
        avg((p - cast(reached_goal as integer)) * (p - cast(reached_goal as integer))) as brier
    from scored
    group by model
),

by_p as (
    select model, p, count(*) filter (where reached_goal) as n_pos, count(*) filter (where not reached_goal) as n_neg
    from scored
    group by model, p
),

below as (
    select a.model, a.p, sum(b.n_neg) as n_neg_below
    from by_p as a
    join by_p as b on b.model = a.model and b.p < a.p
    group by a.model, a.p
),

pairs as (
    select a.model, sum(a.n_pos * (coalesce(w.n_neg_below, 0) + cast(a.n_neg as double) / 2)) as won
    from by_p as a
    left join below as w on w.model = a.model and w.p = a.p
    group by a.model
),

per_model as (
    select
        m.model_order,
        m.model,
        coalesce(t.customers, 0) as customers,
        coalesce(t.reached_goal, 0) as reached_goal,
        t.observed_rate,
        t.mean_predicted,
        t.brier,
        case when t.reached_goal > 0 and t.customers > t.reached_goal
            then p.won / (cast(t.reached_goal as double) * (t.customers - t.reached_goal)) end as auc
    from models as m
    left join totals as t on t.model = m.model
    left join pairs as p on p.model = m.model
)

select
    m.model,
    m.customers,
    m.reached_goal,
    m.observed_rate,
    m.mean_predicted,
    m.brier,
    m.auc,
    case when m.model = 'model' and b.brier > 0 then 1 - m.brier / b.brier end as brier_skill,
    case when m.model = 'model' and m.brier is not null and b.brier is not null then m.brier < b.brier end
        as beats_baseline,
    (select count(*) from backtest where p_model is null) as unscored,
    (select max(event_ts) from classified_events) - to_seconds($predict_window_s) as backtest_cutoff_at
from per_model as m
cross join (select brier from per_model where model = 'baseline') as b
