-- event_identifiers: one row per (event, identifier) the event carries (grain: event_id, identifier).
-- Identifiers are namespaced by type ('email:...', 'phone:...', 'ym_client_id:...') so ids of
-- different kinds never collide. Generic sources give them as columns; format parsers as a
-- list of (id_type, id_value), already cleaned at ingest.
with

ids as (
    select event_id, event_ts, 'customer_id' as id_type, customer_key as id_value from events
    union all select event_id, event_ts, 'anonymous_id', anonymous_id from events
    union all select event_id, event_ts, 'user_id', user_id from events
    union all select event_id, event_ts, 'client_id', client_id from events
    union all select event_id, event_ts, 'email', email from events
    union all select event_id, event_ts, 'phone', phone from events
    union all select event_id, event_ts, 'crm_contact', crm_contact_id from events
    union all
    select event_id, event_ts, i.id_type, i.id_value
    from (select event_id, event_ts, unnest(identifiers) as i from events where len(identifiers) > 0)
)

select distinct
    event_id,
    id_type || ':' || id_value as identifier,
    id_type,
    event_ts as observed_at
from ids
where id_value is not null
