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
)

select
    o.event_id,
    o.id_type || ':' || o.id_value as identifier,
    o.id_type,
    o.id_value,
    o.raw_value,
    o.source,
    o.observed_at,
    exists (
        select 1 from cfg_identity_blocklist as b
        where (b.id_type = o.id_type or b.id_type = 'any')
            and case b.match_kind when 'exact' then o.id_value = b.pattern else regexp_matches(o.id_value, b.pattern) end
    ) as blocked
from observations as o
