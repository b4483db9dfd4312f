-- event_identifiers: one row per (event, identifier) the event carries (grain: event_id, identifier).
-- Identifiers are namespaced by type ('email:...', 'phone:...', ...) so ids of different kinds never collide.
with

ids as (
    select event_id, event_ts, 'customer' as id_type, customer_key as id_value from events
    union all select event_id, event_ts, 'anonymous', anonymous_id from events
    union all select event_id, event_ts, 'user', user_id from events
    union all select event_id, event_ts, 'client', client_id from events
    union all select event_id, event_ts, 'email', email from events
    union all select event_id, event_ts, 'phone', phone from events
    union all select event_id, event_ts, 'crm_contact', crm_contact_id from events
)

select distinct
    event_id,
    id_type || ':' || id_value as identifier,
    id_type,
    event_ts as observed_at
from ids
where id_value is not null
