-- source_accounting: one row per source: every input row is loaded, a duplicate, or quarantined.
-- rows_in = rows_loaded + rows_duplicate + rows_quarantined, always.
with

rows_in as (
    select source, cast(sum(rows_read) as bigint) as rows_in, count(*) as files
    from _cjm_loads
    where source in (select source from cfg_sources)
    group by source
),

staged as (
    select _source as source, count(*) filter (where reject_reason is null) as rows_valid
    from stg_events
    group by _source
),

loaded as (
    select source, count(*) as rows_loaded from events group by source
),

quarantined as (
    select source, count(*) as rows_quarantined from quarantine group by source
)

select
    s.source,
    coalesce(i.files, 0) as files,
    coalesce(i.rows_in, 0) as rows_in,
    coalesce(l.rows_loaded, 0) as rows_loaded,
    coalesce(st.rows_valid, 0) - coalesce(l.rows_loaded, 0) as rows_duplicate,
    coalesce(q.rows_quarantined, 0) as rows_quarantined
from cfg_sources as s
left join rows_in as i on i.source = s.source
left join staged as st on st.source = s.source
left join loaded as l on l.source = s.source
left join quarantined as q on q.source = s.source
