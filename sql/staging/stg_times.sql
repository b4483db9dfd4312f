-- stg_times: one row per raw row (a view), with its event time and version time in UTC.
-- event_time spellings (see docs/semantics.md, "Times"): epoch seconds (9-11 digits, optional
-- fraction), milliseconds (12-14) or microseconds (15-17); ISO dates and date-times without a
-- zone, and DD.MM.YYYY[ HH:MM[:SS]], read in the source's time zone (cfg_sources.timezone); a
-- written zone (an offset, Z, UTC or a zone name) wins over the configured one; an offset beyond
-- +-14:00 is no offset (no zone has one). A time that matches none of them is null (stg_checked
-- rejects the row, quoting it; it also rejects a time outside the plausible range).
-- updated_at (the version time of a re-exported record): epoch digits, a written offset, or
-- naive in the source's zone.
select
    *,
    case
        when t is null or t = '' then null
        when regexp_full_match(t, '\d{9,11}(\.\d+)?') then timezone('UTC', to_timestamp(cast(t as double)))
        when regexp_full_match(t, '\d{12,14}') then epoch_ms(cast(t as bigint))
        when regexp_full_match(t, '\d{15,17}') then make_timestamp(cast(t as bigint))
        when regexp_full_match(t, '\d{4}[-/]\d{1,2}[-/]\d{1,2}([T ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?')
            then timezone('UTC', timezone(tz, try_cast(t as timestamp)))
        when regexp_full_match(t, '\d{1,2}\.\d{1,2}\.\d{4}( \d{1,2}:\d{2}(:\d{2})?)?')
            then timezone('UTC', timezone(tz, try_strptime(t, ['%d.%m.%Y %H:%M:%S', '%d.%m.%Y %H:%M', '%d.%m.%Y'])))
        when regexp_matches(t, '\d:\d{2}(:\d{2}(\.\d+)?)?\s*[+-](1[5-9]|[2-9]\d)(:?\d{2})?$') then null
        -- a cast to timestamp would silently drop a written zone, so only timestamptz is tried
        when regexp_matches(t, '\d:\d{2}(:\d{2}(\.\d+)?)?\s*([Zz]|[+-]\d{2}(:?\d{2})?|[A-Za-z][A-Za-z0-9_/+-]*)$')
            then timezone('UTC', try_cast(
                regexp_replace(regexp_replace(t, '\s+([+-]\d{2}(:?\d{2})?)$', '\1'), '\s*[Zz]$', '+00:00')
                as timestamptz))
    end as ts_parsed,
    case
        when updated_at is null or trim(updated_at) = '' then null
        when regexp_full_match(trim(updated_at), '\d{9,11}') then timezone('UTC', to_timestamp(cast(trim(updated_at) as double)))
        when regexp_full_match(trim(updated_at), '\d{12,14}') then epoch_ms(cast(trim(updated_at) as bigint))
        when regexp_matches(trim(updated_at), '([Zz]|[+-]\d{2}:?\d{2})$')
            then timezone('UTC', try_cast(regexp_replace(trim(updated_at), '[Zz]$', '+00:00') as timestamptz))
        else timezone('UTC', timezone(tz, try_cast(trim(updated_at) as timestamp)))
    end as updated_ts
from stg_values
