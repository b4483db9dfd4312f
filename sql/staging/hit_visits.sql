-- hit_visits: one row per Metrica hit (grain: watch_id) with the visit it belongs to and
-- that visit's traffic attribution, so page views carry the visit's channel and UTMs.
-- Hits exported since 2025-10-10 carry ym:pv:visitID (properties.visit_id); older hits are
-- found in their visit's ym:s:watchIDs array (properties.watch_ids, '[id,id,...]').
-- When a visit was loaded more than once, its latest load wins.
with

visits as (
    select
        r.properties['visit_id'] as visit_id,
        r.properties['watch_ids'] as watch_ids,
        r.channel,
        r.utm_source,
        r.utm_medium,
        r.utm_campaign
    from raw_events as r
    join cfg_sources as s on s.source = r._source
    where s.format = 'metrica_visits' and r.event_type = 'visit' and r.properties['visit_id'] is not null
    qualify row_number() over (partition by r.properties['visit_id'] order by r._load_id desc, r._row desc) = 1
),

visit_watches as (
    select trim(w) as watch_id, visit_id
    from (select visit_id, unnest(string_split(trim(watch_ids, '[] '), ',')) as w from visits)
    where trim(w) <> ''
),

hits as (
    select distinct r.properties['watch_id'] as watch_id, r.properties['visit_id'] as visit_id
    from raw_events as r
    join cfg_sources as s on s.source = r._source
    where s.format = 'metrica_hits' and r.properties['watch_id'] is not null
),

matched as (
    -- a hit in two visits' watch lists (should not happen) takes the smallest visit id
    select h.watch_id, min(coalesce(h.visit_id, w.visit_id)) as visit_id
    from hits as h
    left join visit_watches as w on w.watch_id = h.watch_id
    group by h.watch_id
)

select
    m.watch_id,
    m.visit_id,
    v.channel,
    v.utm_source,
    v.utm_medium,
    v.utm_campaign
from matched as m
left join visits as v on v.visit_id = m.visit_id
where m.visit_id is not null
