-- quarantine: one row per input record that could not be loaded, with the reason.
-- Records that could not be read at all (raw_rejects) and records the staging step rejected;
-- a record with several events (a visit and its goals) is one row, with every reason found.
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
    string_agg(distinct reject_reason, '; ' order by reject_reason) as reason,
    string_agg(
        concat_ws(' | ',
            'event_time=' || coalesce(event_time_raw, ''),
            'event_type=' || coalesce(event_type, ''),
            'revenue=' || coalesce(revenue_raw, '')
        ), ' || ' order by _part nulls first
    ) filter (where reject_reason is not null) as raw_text,
    _load_id
from stg_events
where record_rejected
group by _source, _file, _row, _load_id
