-- signature_keys: one row per event signature, rule and key the rule tests (grain: sig, rule_id,
-- cond_key): whether the signature's value of the key matches one of the key's patterns. The one
-- rule matcher, for the stage rules (cfg_rule_conditions) and the journey map's feedback and pain
-- rules (cfg_map_conditions): signature_rules keeps the rules whose every key matches, and
-- rule_coverage counts the events behind each key and rule. Several values of one key are
-- alternatives; a value matches exactly, as a glob or as a regular expression (match_kind). Keys
-- are unified columns or 'properties.<name>'. Patterns come from the tables, never from SQL text.
-- Rules are tested once per signature (event_signatures), not once per event; events: how many
-- events have the signature.
with

signatures as (
    select sig, count(*) as events
    from event_signatures
    group by sig
),

conditions as (
    select rule_id, cond_key, property_name, match_kind, pattern from cfg_rule_conditions
    union all
    select rule_id, cond_key, property_name, match_kind, pattern from cfg_map_conditions
),

tested as (
    select
        s.sig,
        s.events,
        k.rule_id,
        k.cond_key,
        case k.cond_key
            when 'event_type' then s.sig.event_type
            when 'channel' then s.sig.channel
            when 'utm_source' then s.sig.utm_source
            when 'utm_medium' then s.sig.utm_medium
            when 'utm_campaign' then s.sig.utm_campaign
            when 'url' then s.sig.url
            when 'source' then s.sig.source
            when 'source_system' then s.sig.source_system
            else list_extract(s.sig.prop_values, array_position((select props from rule_keys), k.property_name))
        end as value,
        k.match_kind,
        k.pattern
    from signatures as s
    cross join conditions as k
)

select
    sig,
    any_value(events) as events,
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
group by sig, rule_id, cond_key
