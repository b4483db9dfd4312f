-- rule_coverage: one row per stage rule and key it tests (grain: rule_id, cond_key): how many
-- events the whole rule matches, how many the key matches alone, and how many take their stage
-- from the rule. A rule or a key that matches nothing is usually a typo: every run and
-- `cjm validate` warn about it, with the closest observed values (cjm_pipeline/coverage.py).
-- rule_events: events matching every key of the rule (whatever the rules before it).
-- key_events: events whose value of cond_key matches one of the key's patterns.
-- assigned_events: events whose stage comes from this rule, the first one they match in
-- configuration order (classified_events.matched_rule_id); 0 with rule_events > 0 means earlier
-- rules take every event the rule matches.
-- patterns / match_kinds: the key's values as configured (exact, glob or regex), sorted.
-- The matching is signature_keys', the one matcher classified_events uses too.
with

rules as (
    select * from cfg_stage_rules
),

conditions as (
    select * from cfg_rule_conditions
),

key_results as (
    select sig, events, rule_id, cond_key, matched
    from signature_keys
    where rule_id in (select rule_id from rules)
),

rule_results as (
    select sig, any_value(events) as events, rule_id, bool_and(matched) as matched
    from key_results
    group by sig, rule_id
),

first_match as (
    select m.sig, m.events, m.rule_id
    from rule_results as m
    join rules as r on r.rule_id = m.rule_id
    where m.matched
    qualify row_number() over (partition by m.sig order by r.stage_order, r.rule_index, r.rule_id) = 1
),

key_counts as (
    select rule_id, cond_key, cast(coalesce(sum(events) filter (where matched), 0) as bigint) as key_events
    from key_results
    group by rule_id, cond_key
),

rule_counts as (
    select rule_id, cast(coalesce(sum(events) filter (where matched), 0) as bigint) as rule_events
    from rule_results
    group by rule_id
),

assigned as (
    select rule_id, cast(sum(events) as bigint) as assigned_events
    from first_match
    group by rule_id
),

patterns as (
    select
        rule_id,
        cond_key,
        any_value(property_name) as property_name,
        list(pattern order by pattern, match_kind) as patterns,
        list(match_kind order by pattern, match_kind) as match_kinds
    from conditions
    group by rule_id, cond_key
)

select
    r.stage_order,
    r.stage,
    r.rule_index,
    r.rule_id,
    p.cond_key,
    p.property_name,
    p.patterns,
    p.match_kinds,
    r.n_keys,
    coalesce(rc.rule_events, 0) as rule_events,
    coalesce(kc.key_events, 0) as key_events,
    coalesce(a.assigned_events, 0) as assigned_events
from rules as r
join patterns as p on p.rule_id = r.rule_id
left join rule_counts as rc on rc.rule_id = r.rule_id
left join key_counts as kc on kc.rule_id = r.rule_id and kc.cond_key = p.cond_key
left join assigned as a on a.rule_id = r.rule_id
