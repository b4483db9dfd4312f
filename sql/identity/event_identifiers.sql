-- event_identifiers: one row per (event, identifier) observation (grain: event_id, identifier):
-- which record (source, event) carried which identifier, its cleaned and raw value, and when.
-- Identifiers are namespaced by type ('email:...', 'phone:...', 'ym_client_id:...') so ids of
-- different kinds never collide. Generic sources give them as columns; format parsers as a
-- list of (id_type, id_value, raw), cleaned at ingest.
-- blocked: the value is on the identity blocklist (built-in placeholders such as
-- test@test.ru and +79999999999, and the config's identity.blocklist): it joins nobody.
with

-- One pass over events: the identifier columns and the parsers' list become one list per
-- event; an identifier given twice by one event (a column and the list, or two spellings) is
-- kept once, with its smallest raw spelling (sorted, then each (type, value) first seen).
listed as not materialized (
    select
        event_id,
        source,
        event_ts,
        list_filter(
            [
                {'id_type': 'customer_id', 'id_value': customer_key, 'raw': customer_key},
                {'id_type': 'anonymous_id', 'id_value': anonymous_id, 'raw': anonymous_id},
                {'id_type': 'user_id', 'id_value': user_id, 'raw': user_id},
                {'id_type': 'client_id', 'id_value': client_id, 'raw': client_id},
                {'id_type': 'email', 'id_value': email, 'raw': email},
                {'id_type': 'phone', 'id_value': phone, 'raw': phone},
                {'id_type': 'crm_contact', 'id_value': crm_contact_id, 'raw': crm_contact_id}
            ] || coalesce(identifiers, []),
            lambda i: i.id_value is not null) as ids
    from events
),

sorted as not materialized (
    select
        event_id,
        source,
        event_ts,
        -- (a null field sorts after any value: a spelling before none)
        case when array_length(ids) < 2 then ids else list_sort(ids) end as ids
    from listed
),

observations as materialized (
    select event_id, source, i.id_type, i.id_value, i.raw as raw_value, event_ts as observed_at
    from (
        select
            event_id,
            source,
            event_ts,
            unnest(list_filter(ids, lambda x, n: n = 1
                or x.id_type <> list_extract(ids, n - 1).id_type or x.id_value <> list_extract(ids, n - 1).id_value)) as i
        from sorted
    )
),

-- The blocklist is matched once per distinct value, not per observation: exact values by a
-- hash join with cfg_identity_blocklist, regexes with $blocklist_regex, all of them as one
-- pattern bound as a parameter (compiled once) over '<id_type>\n<value>' (IdentityConfig.blocklist_regex).
distinct_values as (
    select distinct id_type, id_value from observations
),

blocked_values as (
    select v.id_type, v.id_value
    from distinct_values as v
    join cfg_identity_blocklist as b
        on b.match_kind = 'exact' and b.pattern = v.id_value and b.id_type in (v.id_type, 'any')

    union

    select v.id_type, v.id_value
    from distinct_values as v
    where regexp_matches(v.id_type || chr(10) || replace(v.id_value, chr(10), ' '), $blocklist_regex)
)

select
    o.event_id,
    o.id_type || ':' || o.id_value as identifier,
    o.id_type,
    o.id_value,
    o.raw_value,
    o.source,
    o.observed_at,
    bv.id_value is not null as blocked
from observations as o
left join blocked_values as bv on bv.id_type = o.id_type and bv.id_value = o.id_value
