-- stg_raw: one row per raw row of a configured source (a view), with the source's time zone.
-- Metrica hits take their visit's channel and UTMs (hit_visits): a hit row carries none of its
-- own. ids: the identifiers a format parser listed (normalised at ingest) that have a value.
select
    r.* replace (
        coalesce(r.channel, hv.channel) as channel,
        coalesce(r.utm_source, hv.utm_source) as utm_source,
        coalesce(r.utm_medium, hv.utm_medium) as utm_medium,
        coalesce(r.utm_campaign, hv.utm_campaign) as utm_campaign
    ),
    hv.visit_id as hit_visit_id,
    s.timezone as tz,
    list_filter(r.identifiers, lambda i: i.id_value is not null) as ids
from raw_events as r
join cfg_sources as s on s.source = r._source
left join hit_visits as hv on s.format = 'metrica_hits' and hv.watch_id = r.properties['watch_id']
