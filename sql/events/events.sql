-- events: one row per distinct event (grain: event_id), all sources, times in UTC.
-- A record loaded more than once (the same given event_id, or the same content) is kept once:
-- the version with the latest updated_at wins (formats set it from a record's modification
-- time, so a re-exported deal with a new stage or amount replaces the old one); among equal
-- versions the first loaded copy stays, so an overlapping re-export changes nothing. The
-- other copies are counted as duplicates in source_accounting. Records with a rejected event are not loaded at all.
-- A winning version without a revenue takes the revenue of the latest version that has one (by
-- updated_at, then the latest loaded): amoCRM's won status change read from the events API, which
-- knows no price, and the same change from the leads exports, which carry it (docs/semantics.md, "Revenue").
-- Only the ids that occur more than once are ranked: most events are loaded once, and a
-- rank over every event would sort the whole year.
with

repeated as (
    select event_id
    from stg_events
    where not record_rejected
    group by event_id
    having count(*) > 1
),

version_revenue as (
    select v.event_id, v.revenue as version_revenue
    from stg_events as v
    semi join repeated as r on r.event_id = v.event_id
    where not v.record_rejected and v.revenue is not null
    qualify row_number() over (
        partition by v.event_id
        order by v.updated_ts desc nulls last, v._load_id desc, v._row, v._part nulls first
    ) = 1
),

loaded as not materialized (
    select
        stg_events.event_id,
        event_ts,
        _source as source,
        s.source_system,
        event_type,
        channel,
        utm_source,
        utm_medium,
        utm_campaign,
        url,
        coalesce(revenue, vr.version_revenue) as revenue,
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
        _row,
        _part
    from stg_events
    join cfg_sources as s on s.source = stg_events._source
    left join version_revenue as vr on vr.event_id = stg_events.event_id
    where not record_rejected
)

select l.* exclude (_part)
from loaded as l
anti join repeated as r on r.event_id = l.event_id

union all

select l.* exclude (_part)
from loaded as l
semi join repeated as r on r.event_id = l.event_id
qualify row_number() over (
    partition by l.event_id
    order by l.updated_ts desc nulls last, l._load_id, l._row, l._part nulls first
) = 1
