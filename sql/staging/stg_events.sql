-- stg_events: one row per raw row of a configured source, typed and checked (stg_raw, stg_values,
-- stg_times and stg_checked are its jobs, one view each); reject_reason is null for a usable row.
-- Here: stage and pipeline names are looked up in the dictionaries the parsers loaded
-- (raw_reference, via cfg_reference_lookups) for events that do not carry them yet; and a
-- record with a rejected event is rejected whole (record_rejected), so it is never half loaded.
with

staged as (
    select * from stg_checked
),

references_latest as (
    select _source, kind, key, value
    from raw_reference
    qualify row_number() over (partition by _source, kind, key order by _load_id desc, _row desc) = 1
),

looked_up as (
    select st._load_id, st._row, st._part,
        map(list(l.target order by l.target), list(f.value order by l.target)) as extra
    from staged as st
    join cfg_reference_lookups as l on st.properties[l.target] is null
    join references_latest as f
        on f._source = st._source and f.kind = l.kind
        and f.key = case when l.key2 is null then st.properties[l.key1]
                         else st.properties[l.key1] || ':' || st.properties[l.key2] end
    where st._source in (select _source from references_latest)
    group by st._load_id, st._row, st._part
),

rejected_records as (
    select distinct _load_id, _row
    from staged
    where reject_reason is not null and _part is not null
)

select
    st.* replace (
        case when lu.extra is null then st.properties else map_concat(st.properties, lu.extra) end as properties
    ),
    st.reject_reason is not null or rr._row is not null as record_rejected
from staged as st
left join looked_up as lu on lu._load_id = st._load_id and lu._row = st._row and lu._part = st._part
left join rejected_records as rr on rr._load_id = st._load_id and rr._row = st._row
