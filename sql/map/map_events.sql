-- map_events: one row per event that a feedback entry or a pain rule matches (grain: event_id,
-- rule_set): rule_set 'feedback' (an answer) or 'pain'. Entries match events like stage rules,
-- through the same matcher (signature_rules); an event is at most one answer and one pain: the
-- first entry it matches in configuration order. Matching never changes an event's stage.
-- stage: the entry's own stage (cfg_feedback.stage, cfg_pains.stage), else the stage of the visit
-- the event falls in, i.e. the customer's latest visit entered at or before it in the event order
-- (event_ts, stage_order, event_id; at one instant staged events come first); '(before first
-- stage)' (stage_order 0) when there is none. A feedback answer's score is the entry's score
-- property read as a number (trimmed, a decimal comma allowed); reason says why an answer has no
-- usable score: empty, not a number, or off the entry's scale.
with

entries as (
    select 'feedback' as rule_set, entry_index, rule_id, name, stage from cfg_feedback
    union all
    select 'pain' as rule_set, entry_index, rule_id, name, stage from cfg_pains
),

matched as (
    select m.sig, e.rule_set, e.entry_index, e.rule_id, e.name, e.stage as own_stage
    from signature_rules as m
    join entries as e on e.rule_id = m.rule_id
    qualify row_number() over (partition by m.sig, e.rule_set order by e.entry_index, e.rule_id) = 1
),

-- (only events of a matched signature's event type can match: filtered on the plain column first,
-- so the signatures of the other events are never built)
hits as (
    select k.event_id, m.rule_set, m.entry_index, m.rule_id, m.name, m.own_stage
    from event_signatures as k
    join matched as m on m.sig is not distinct from k.sig
    where k.event_type in (select distinct sig.event_type from matched)
),

answers as (
    select
        c.customer_id,
        c.event_id,
        c.event_ts,
        c.source,
        c.event_type,
        c.stage_order as event_stage_order,
        c.properties,
        h.rule_set,
        h.entry_index,
        h.rule_id,
        h.name,
        h.own_stage
    from hits as h
    join classified_events as c on c.event_id = h.event_id
),

placed as (
    select
        a.*,
        v.visit_index,
        v.stage as visit_stage,
        v.stage_order as visit_stage_order
    from answers as a
    left join stage_visits as v
        on v.customer_id = a.customer_id
        and (v.entered_at < a.event_ts
            or (v.entered_at = a.event_ts
                and (a.event_stage_order is null
                    or v.stage_order < a.event_stage_order
                    or (v.stage_order = a.event_stage_order and v.first_event_id <= a.event_id))))
    qualify row_number() over (partition by a.event_id, a.rule_set order by v.visit_index desc nulls last) = 1
),

scored as (
    select
        p.*,
        s.stage_order as own_stage_order,
        f.scale,
        f.scale_label,
        f.scale_min,
        f.scale_max,
        f.negative_max,
        nullif(trim(p.properties[f.score_property]), '') as score_text,
        nullif(trim(p.properties[f.comment_property]), '') as comment
    from placed as p
    left join cfg_feedback as f on f.rule_id = p.rule_id
    left join cfg_stages as s on s.stage = p.own_stage
),

parsed as (
    select
        *,
        try_cast(replace(score_text, ',', '.') as double) as score_value
    from scored
)

select
    customer_id,
    event_id,
    event_ts,
    source,
    event_type,
    rule_set,
    entry_index,
    name,
    coalesce(own_stage, visit_stage, '(before first stage)') as stage,
    coalesce(own_stage_order, visit_stage_order, 0) as stage_order,
    visit_index,
    scale,
    score_text,
    case when score_value between scale_min and scale_max then score_value end as score,
    case
        when score_value between scale_min and scale_max
            then (score_value - scale_min) / (scale_max - scale_min)
    end as score_norm,
    case when score_value between scale_min and scale_max then score_value <= negative_max end as is_negative,
    comment,
    case
        when rule_set <> 'feedback' then null
        when score_text is null then 'score: empty'
        when score_value is null then format('score: not a number: ''{}''', score_text)
        when not score_value between scale_min and scale_max
            then format('score: {} is off the scale {}', score_text, scale_label)
    end as reason
from parsed
