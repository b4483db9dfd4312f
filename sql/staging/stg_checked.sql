-- stg_checked: one row per raw row (a view) in the staged columns, with its stable event_id and,
-- for an unusable row, reject_reason naming the column and the problem. An event time outside the
-- plausible range (cfg_time_range: times.earliest .. the run's start plus times.ahead; see
-- docs/semantics.md, "Times") is rejected like an unreadable one.
-- event_id: the given id, else an md5 of the record's content, prefixed with the source name, so
-- it is the same across reloads of the same record and across a re-export with the columns in
-- another order (unified columns are hashed by name, properties by key). A format parser's
-- record may hold several events (_part 0, 1, ...): their identifiers and place count too.
select
    _load_id,
    _source,
    _file,
    _row,
    _part,
    _source || ':' || coalesce(
        nullif(trim(event_id), ''),
        md5(concat_ws(chr(31),
            coalesce(event_time, '\N'), coalesce(event_type, '\N'), coalesce(channel, '\N'),
            coalesce(utm_source, '\N'), coalesce(utm_medium, '\N'), coalesce(utm_campaign, '\N'),
            coalesce(url, '\N'), coalesce(revenue, '\N'), coalesce(customer_id, '\N'),
            coalesce(anonymous_id, '\N'), coalesce(user_id, '\N'), coalesce(client_id, '\N'),
            coalesce(email, '\N'), coalesce(phone, '\N'), coalesce(crm_contact_id, '\N'),
            -- properties (sorted by key at ingest) as key/value text, not cast(map as varchar),
            -- whose rendering is DuckDB's to change between versions
            array_to_string(list_transform(map_entries(properties),
                lambda e: concat(e.key, chr(30), coalesce(e.value, '\N'))), chr(29))
        ) || case
            when _part is not null and (array_length(identifiers) > 0 or _part > 0) then chr(31) || coalesce(cast(_part as varchar), '') || chr(31)
                || array_to_string(list_transform(identifiers, lambda i: concat(i.id_type, chr(30), i.raw)), chr(29))
            else ''
        end)
    ) as event_id,
    ts_parsed as event_ts,
    event_time as event_time_raw,
    event_type_clean as event_type,
    nullif(trim(channel), '') as channel,
    nullif(trim(utm_source), '') as utm_source,
    nullif(trim(utm_medium), '') as utm_medium,
    nullif(trim(utm_campaign), '') as utm_campaign,
    nullif(trim(url), '') as url,
    revenue_parsed as revenue,
    revenue as revenue_raw,
    id_customer as customer_key,
    id_anonymous as anonymous_id,
    id_user as user_id,
    id_client as client_id,
    id_email as email,
    id_phone as phone,
    id_crm_contact as crm_contact_id,
    coalesce(ids, []) as identifiers,
    hit_visit_id,
    updated_ts,
    case
        when t is null or t = '' then 'event_time: empty'
        when ts_parsed is null then 'event_time: cannot parse ''' || t || ''' as a time'
        when ts_parsed < r.earliest
            then 'event_time: ''' || t || ''' is before the earliest plausible time (times.earliest: ' || r.earliest_setting || ')'
        when ts_parsed >= r.latest
            then 'event_time: ''' || t || ''' is later than the run''s start plus times.ahead (' || r.ahead_setting || ')'
        when event_type_clean is null then 'event_type: empty'
        when revenue_text is not null and revenue_parsed is null then 'revenue: cannot parse ''' || revenue || ''' as a number'
        when coalesce(id_customer, id_anonymous, id_user, id_client, id_email, id_phone, id_crm_contact) is null
            and coalesce(array_length(ids), 0) = 0
            then case
                when array_length(identifiers) > 0 then 'identifiers: no usable identifier in ' || array_to_string(
                    list_transform(identifiers, lambda i: i.id_type || '=''' || coalesce(i.raw, '') || ''''), ', ')
                when _part is not null then 'identifiers: the record carries no customer identifier'
                else 'identifiers: none of customer_id, anonymous_id, user_id, client_id, email, phone, crm_contact_id has a value'
            end
    end as reject_reason,
    -- last, so that stg_events' replace keeps it in place on Spark too (spark_rewrites.star_replace)
    properties
from stg_times
cross join cfg_time_range as r
