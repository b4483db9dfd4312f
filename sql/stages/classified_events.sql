-- classified_events: every customer event (grain: event_id), with its customer_id and its stage, or null.
-- An event belongs to the first matching rule in configuration order (stage order, then rule
-- order). A rule matches when every key it tests matches; several values of one key are
-- alternatives. Keys are unified columns or 'properties.<name>'. Patterns come from the
-- cfg_stage_rules / cfg_rule_conditions tables, never from SQL text.
-- Rules are tested once per signature, not once per event: an event's signature holds the
-- values of the keys some rule tests (the others are null), so events with equal signatures
-- take the same stage. A year of events has a few thousand signatures.
with

-- (sorted: the list is read twice, and an engine may compute it twice, so its order must be fixed)
used as (
    select
        coalesce(list(distinct cond_key order by cond_key), []) as keys,
        coalesce(list(distinct property_name order by property_name) filter (where property_name is not null), [])
            as props
    from cfg_rule_conditions
),

-- (the signatures read events alone; the customer is joined once, to the result)
keyed as not materialized (
    select
        e.*,
        struct_pack(
            event_type := e.event_type,
            channel := case when list_contains(u.keys, 'channel') then e.channel end,
            utm_source := case when list_contains(u.keys, 'utm_source') then e.utm_source end,
            utm_medium := case when list_contains(u.keys, 'utm_medium') then e.utm_medium end,
            utm_campaign := case when list_contains(u.keys, 'utm_campaign') then e.utm_campaign end,
            url := case when list_contains(u.keys, 'url') then e.url end,
            source := e.source,
            source_system := e.source_system,
            prop_values := list_transform(u.props, lambda p: e.properties[p])
        ) as sig
    from events as e
    cross join used as u
),

signatures as (
    select distinct sig from keyed
),

rules as (
    select * from cfg_stage_rules
),

conditions as (
    select * from cfg_rule_conditions
),

-- Rules whose event_type test is a plain list of values are joined on event_type (a hash
-- join); the others are tested against every signature.
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
    select s.sig, t.rule_id
    from signatures as s
    join typed_rules as t on t.event_type = s.sig.event_type
    union all
    select s.sig, u.rule_id
    from signatures as s
    cross join untyped_rules as u
),

tested as (
    select
        c.sig,
        c.rule_id,
        k.cond_key,
        case k.cond_key
            when 'event_type' then c.sig.event_type
            when 'channel' then c.sig.channel
            when 'utm_source' then c.sig.utm_source
            when 'utm_medium' then c.sig.utm_medium
            when 'utm_campaign' then c.sig.utm_campaign
            when 'url' then c.sig.url
            when 'source' then c.sig.source
            when 'source_system' then c.sig.source_system
            else list_extract(c.sig.prop_values, array_position((select props from used), k.property_name))
        end as value,
        k.match_kind,
        k.pattern
    from candidates as c
    join conditions as k on k.rule_id = c.rule_id
),

key_results as (
    select
        sig,
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
),

matched_rules as (
    select k.sig, k.rule_id
    from key_results as k
    group by k.sig, k.rule_id
    having bool_and(k.matched)
),

first_match as (
    select m.sig, r.stage, r.stage_order, r.rule_id
    from matched_rules as m
    join rules as r on r.rule_id = m.rule_id
    qualify row_number() over (partition by m.sig order by r.stage_order, r.rule_index, r.rule_id) = 1
)

select
    c.customer_id,
    k.* exclude (sig),
    f.stage,
    f.stage_order,
    f.rule_id as matched_rule_id
from keyed as k
join customer_events as c on c.event_id = k.event_id
left join first_match as f on f.sig is not distinct from k.sig
