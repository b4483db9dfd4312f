-- event_signatures: every event (grain: event_id) with its signature, sig: the values of the keys
-- some rule tests (rule_keys; the keys no rule tests are null), so events with equal signatures
-- match the same rules. A year of events has a few thousand signatures: rules are tested once per
-- signature (signature_rules), and classified_events and the journey map join the result back.
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
cross join rule_keys as u
