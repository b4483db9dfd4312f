-- classified_events: every customer event (grain: event_id) with its stage, or null.
-- An event belongs to the first matching rule in configuration order (stage order, then rule
-- order). A rule matches when every key it tests matches; several values of one key are
-- alternatives. Keys are unified columns or 'properties.<name>'. Patterns come from the
-- cfg_stage_rules / cfg_rule_conditions tables, never from SQL text.
with

events as (
    select * from customer_events
),

rules as (
    select * from cfg_stage_rules
),

conditions as (
    select * from cfg_rule_conditions
),

-- Rules whose event_type test is a plain list of values are joined on event_type (a hash
-- join); the others are tested against every event.
typed_rules as (
    select rule_id, pattern as event_type
    from conditions
    where cond_key = 'event_type'
        and rule_id not in (
            select rule_id from conditions where cond_key = 'event_type' and match_kind <> 'exact'
        )
        and match_kind = 'exact'
),

untyped_rules as (
    select rule_id from rules
    where rule_id not in (select rule_id from typed_rules)
),

candidates as (
    select e.event_id, e.event_type, e.channel, e.utm_source, e.utm_medium, e.utm_campaign, e.url,
        e.source, e.source_system, e.properties, t.rule_id
    from events as e
    join typed_rules as t on t.event_type = e.event_type
    union all
    select e.event_id, e.event_type, e.channel, e.utm_source, e.utm_medium, e.utm_campaign, e.url,
        e.source, e.source_system, e.properties, u.rule_id
    from events as e
    cross join untyped_rules as u
),

tested as (
    select
        c.event_id,
        c.rule_id,
        k.cond_key,
        case k.cond_key
            when 'event_type' then c.event_type
            when 'channel' then c.channel
            when 'utm_source' then c.utm_source
            when 'utm_medium' then c.utm_medium
            when 'utm_campaign' then c.utm_campaign
            when 'url' then c.url
            when 'source' then c.source
            when 'source_system' then c.source_system
            else c.properties[k.property_name]
        end as value,
        k.match_kind,
        k.pattern
    from candidates as c
    join conditions as k on k.rule_id = c.rule_id
),

key_results as (
    select
        event_id,
        rule_id,
        cond_key,
        coalesce(bool_or(
            case match_kind
                when 'exact' then value = pattern
                when 'glob' then value glob pattern
                when 'regex' then regexp_matches(value, pattern)
            end
        ), false) as matched
    from tested
    group by event_id, rule_id, cond_key
),

matched_rules as (
    select k.event_id, k.rule_id
    from key_results as k
    group by k.event_id, k.rule_id
    having bool_and(k.matched)
),

first_match as (
    select m.event_id, r.stage, r.stage_order, r.rule_id
    from matched_rules as m
    join rules as r on r.rule_id = m.rule_id
    qualify row_number() over (partition by m.event_id order by r.stage_order, r.rule_index, r.rule_id) = 1
)

select
    e.*,
    f.stage,
    f.stage_order,
    f.rule_id as matched_rule_id
from events as e
left join first_match as f on f.event_id = e.event_id
