-- events: one row per distinct event (grain: event_id), all sources, times in UTC.
-- A record loaded twice (the same given event_id, or the same content) is kept once:
-- the first by load, file and row; the others are counted as duplicates in source_accounting.
select
    event_id,
    event_ts,
    _source as source,
    s.source_system,
    event_type,
    channel,
    utm_source,
    utm_medium,
    utm_campaign,
    url,
    revenue,
    customer_key,
    anonymous_id,
    user_id,
    client_id,
    email,
    phone,
    crm_contact_id,
    properties,
    _load_id,
    _file,
    _row
from stg_events
join cfg_sources as s on s.source = stg_events._source
where reject_reason is null
qualify row_number() over (partition by event_id order by _load_id, _file, _row) = 1
