-- event_identifiers: one row per (event, identifier) observation (grain: event_id, identifier):
-- which record (source, event) carried which identifier, its cleaned and raw value, and when.
-- Identifiers are namespaced by type ('email:...', 'phone:...', 'ym_client_id:...') so ids of
-- different kinds never collide. Generic sources give them as columns; format parsers as a
-- list of (id_type, id_value, raw), cleaned at ingest.
-- blocked: the value is on the identity blocklist (built-in placeholders such as
-- test@test.ru and +79999999999, and the config's identity.blocklist): it joins nobody.
with

ids as (
    select event_id, source, event_ts, 'customer_id' as id_type, customer_key as id_value, customer_key as raw_value from events
    union all select event_id, source, event_ts, 'anonymous_id', anonymous_id, anonymous_id from events
    union all select event_id, source, event_ts, 'user_id', user_id, user_id from events
    union all select event_id, source, event_ts, 'client_id', client_id, client_id from events
    union all select event_id, source, event_ts, 'email', email, email from events
    union all select event_id, source, event_ts, 'phone', phone, phone from events
    union all select event_id, source, event_ts, 'crm_contact', crm_contact_id, crm_contact_id from events
    union all
    select event_id, source, event_ts, i.id_type, i.id_value, i.raw
    from (select event_id, source, event_ts, unnest(identifiers) as i from events where len(identifiers) > 0)
),

observations as (
    select event_id, source, id_type, id_value, min(raw_value) as raw_value, min(event_ts) as observed_at
    from ids
    where id_value is not null
    group by event_id, source, id_type, id_value
),

-- The blocklist is matched once per distinct value, not per observation (regexes are costly):
-- exact patterns by a hash join, regexes only against values of their own type (or 'any').
blocklist as (
    select id_type, match_kind, pattern from cfg_identity_blocklist
),

distinct_values as (
    select distinct id_type, id_value from observations
),

blocked_values as (
    select v.id_type, v.id_value
    from distinct_values as v
    join blocklist as b on b.match_kind = 'exact' and b.pattern = v.id_value and b.id_type in (v.id_type, 'any')

    union

    select v.id_type, v.id_value
    from distinct_values as v
    join blocklist as b on b.match_kind = 'regex' and b.id_type = v.id_type
    where regexp_matches(v.id_value, b.pattern)

    union

    select v.id_type, v.id_value
    from distinct_values as v
    cross join (select pattern from blocklist where match_kind = 'regex' and id_type = 'any') as b
    where regexp_matches(v.id_value, b.pattern)
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
