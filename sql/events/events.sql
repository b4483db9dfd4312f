-- events: one row per distinct event (grain: event_id), all sources, times in UTC.
-- A record loaded more than once (the same given event_id, or the same content) is kept once:
-- the version with the latest updated_at wins (formats set it from a record's modification
-- time, so a re-exported deal with a new stage or amount replaces the old one); among equal
-- versions the first loaded copy stays, so an overlapping re-export changes nothing. The
-- other copies are counted as duplicates in source_accounting. Records with a rejected event are not loaded at all.
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
    identifiers,
    properties,
    updated_ts,
    _load_id,
    _file,
    _row
from stg_events
join cfg_sources as s on s.source = stg_events._source
where not record_rejected
qualify row_number() over (
    partition by event_id
    order by updated_ts desc nulls last, _load_id, _row, _part nulls first
) = 1
