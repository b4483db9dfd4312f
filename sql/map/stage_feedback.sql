-- stage_feedback: how customers feel at each stage (grain: stage, feedback): one '(all)' row per
-- configured stage (and one for '(before first stage)' when answers came before any visit), plus
-- a row per stage and feedback entry that has answers there when the config has several entries.
-- Over the answers with a usable score (map_events; the others count in invalid):
--   answers, customers (distinct customers who answered), mean_score (on the entry's scale; empty
--   for '(all)' when the entries' scales differ), score_norm (the mean of (score - min) / (max - min),
--   0..1, comparable across scales), nps (nps scale only: 100 * (promoters - detractors) / answers
--   on that scale, promoters scoring 9-10, detractors 0-6, in -100..100; else empty),
--   negative_answers and negative_share (answers scoring at most the entry's negative_max).
with

answers as (
    select * from map_events where rule_set = 'feedback'
),

entries as (
    select entry_index, name, scale from cfg_feedback
),

stages as (
    select stage, stage_order from cfg_stages
    union all
    select distinct stage, stage_order from answers where stage_order = 0
),

per_entry as (
    select
        a.stage,
        a.entry_index + 1 as feedback_order,
        a.name as feedback,
        max(a.scale) as scale,
        count(a.score) as answers,
        count(distinct case when a.score is not null then a.customer_id end) as customers,
        avg(a.score) as mean_score,
        avg(a.score_norm) as score_norm,
        count(case when a.scale = 'nps' and a.score >= 9 then 1 end) as promoters,
        count(case when a.scale = 'nps' and a.score > 6 and a.score < 9 then 1 end) as passives,
        count(case when a.scale = 'nps' and a.score <= 6 then 1 end) as detractors,
        count(case when a.scale = 'nps' then a.score end) as nps_answers,
        count(case when a.is_negative then 1 end) as negative_answers,
        count(*) - count(a.score) as invalid
    from answers as a
    group by a.stage, a.entry_index, a.name
),

per_stage as (
    select
        s.stage,
        0 as feedback_order,
        '(all)' as feedback,
        case
            when (select count(*) from entries) = 0 then null
            when (select count(distinct scale) from entries) = 1 then (select max(scale) from entries)
            when count(distinct case when a.score is not null then a.scale end) = 1
                then max(case when a.score is not null then a.scale end)
            else 'mixed'
        end as scale,
        count(a.score) as answers,
        count(distinct case when a.score is not null then a.customer_id end) as customers,
        case
            when count(distinct case when a.score is not null then a.scale end) = 1 then avg(a.score)
        end as mean_score,
        avg(a.score_norm) as score_norm,
        count(case when a.scale = 'nps' and a.score >= 9 then 1 end) as promoters,
        count(case when a.scale = 'nps' and a.score > 6 and a.score < 9 then 1 end) as passives,
        count(case when a.scale = 'nps' and a.score <= 6 then 1 end) as detractors,
        count(case when a.scale = 'nps' then a.score end) as nps_answers,
        count(case when a.is_negative then 1 end) as negative_answers,
        count(a.event_id) - count(a.score) as invalid
    from stages as s
    left join answers as a on a.stage = s.stage
    group by s.stage
),

all_rows as (
    select * from per_stage
    union all
    select * from per_entry where (select count(*) from entries) > 1
)

select
    s.stage_order,
    r.stage,
    r.feedback_order,
    r.feedback,
    r.scale,
    r.answers,
    r.customers,
    r.mean_score,
    r.score_norm,
    case when r.nps_answers > 0 then 100 * cast(r.promoters - r.detractors as double) / r.nps_answers end as nps,
    r.promoters,
    r.passives,
    r.detractors,
    r.negative_answers,
    case when r.answers > 0 then cast(r.negative_answers as double) / r.answers end as negative_share,
    r.invalid
from all_rows as r
join stages as s on s.stage = r.stage
