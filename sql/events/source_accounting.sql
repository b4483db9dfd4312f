-- source_accounting: one row per source: every input record is loaded, a duplicate, or quarantined.
-- rows_in = rows_loaded + rows_duplicate + rows_quarantined, always. A record is one input row
-- (a CSV line, a JSON element); it may hold several events (a visit and its goals):
-- loaded when at least one of its events is in `events` (or it is a dictionary entry, kept in
-- raw_reference), a duplicate when every one of its events was already loaded (or a later
-- version replaced it), quarantined when it could not be read or one of its events was rejected.
with

rows_in as (
    select source, cast(sum(rows_read) as bigint) as rows_in, count(*) as files
    from _cjm_loads
    where source in (select source from cfg_sources)
    group by source
),

valid_records as (
    select _source as source, count(*) as records_valid
    from (select distinct _source, _load_id, _row from stg_events where not record_rejected)
    group by _source
),

loaded_records as (
    select source, count(*) as records_loaded
    from (select distinct source, _load_id, _row from events)
    group by source
),

reference_records as (
    select _source as source, count(*) as records_reference
    from (select distinct _source, _load_id, _row from raw_reference)
    group by _source
),

quarantined as (
    select source, count(*) as rows_quarantined from quarantine group by source
)

select
    s.source,
    coalesce(i.files, 0) as files,
    coalesce(i.rows_in, 0) as rows_in,
    coalesce(l.records_loaded, 0) + coalesce(r.records_reference, 0) as rows_loaded,
    coalesce(v.records_valid, 0) - coalesce(l.records_loaded, 0) as rows_duplicate,
    coalesce(q.rows_quarantined, 0) as rows_quarantined
from cfg_sources as s
left join rows_in as i on i.source = s.source
left join valid_records as v on v.source = s.source
left join loaded_records as l on l.source = s.source
left join reference_records as r on r.source = s.source
left join quarantined as q on q.source = s.source
