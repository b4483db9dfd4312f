-- classified_events: every customer event (grain: event_id), with its customer_id and its stage, or null.
-- An event belongs to the first matching rule in configuration order (stage order, then rule
-- order). A rule matches when every key it tests matches; several values of one key are
-- alternatives. Keys are unified columns or 'properties.<name>'. Patterns come from the
-- cfg_stage_rules / cfg_rule_conditions tables, never from SQL text.
-- Rules are tested once per signature, not once per event (signature_rules, the matcher the
-- journey map's feedback and pain rules share): events with equal signatures take the same stage.
with

first_match as (
    select m.sig, r.stage, r.stage_order, r.rule_id
    from signature_rules as m
    join cfg_stage_rules as r on r.rule_id = m.rule_id
    qualify row_number() over (partition by m.sig order by r.stage_order, r.rule_index, r.rule_id) = 1
)

-- (the signatures read events alone; the customer is joined once, to the result)
select
    c.customer_id,
    k.* exclude (sig),
    f.stage,
    f.stage_order,
    f.rule_id as matched_rule_id
from event_signatures as k
join customer_events as c on c.event_id = k.event_id
left join first_match as f on f.sig is not distinct from k.sig
