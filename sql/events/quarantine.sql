-- quarantine: one row per input row that could not be loaded, with the reason.
-- Rows that could not be split into fields (raw_rejects) and rows the staging step rejected.
select
    _source as source,
    _file as file,
    _row as row_number,
    reason,
    raw_text,
    _load_id
from raw_rejects
where _source in (select source from cfg_sources)

union all

select
    _source as source,
    _file as file,
    _row as row_number,
    reject_reason as reason,
    concat_ws(' | ',
        'event_time=' || coalesce(event_time_raw, ''),
        'event_type=' || coalesce(event_type, ''),
        'revenue=' || coalesce(revenue_raw, '')
    ) as raw_text,
    _load_id
from stg_events
where reject_reason is not null
