-- stg_events: one row per raw row of a configured source, typed and checked.
-- reject_reason is null for a usable row; otherwise it names the column and the problem,
-- and the row goes to quarantine. event_id is the given id or an md5 of the record's content,
-- prefixed with the source name, so it is stable across reloads of the same record (and of a
-- re-export with the columns in another order: unified columns are hashed by name, properties by key).
-- Naive times are read in the source's time zone (cfg_sources.timezone), then stored as UTC.
-- Format parsers may give several events per input record (_part 0, 1, ...): if one of them is
-- rejected, the whole record is (record_rejected), so a record is never half loaded.
-- Format parsers give identifiers as a list (already normalised at ingest); Metrica hits take
-- their visit's channel and UTMs (hit_visits); stage and pipeline names are looked up in the
-- dictionaries the parsers loaded (raw_reference, via cfg_reference_lookups).
with

raw as (
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
),

cleaned as (
    select
        *,
        trim(event_time) as t,
        nullif(trim(event_type), '') as event_type_clean,
        -- revenue: digit-group spaces (also no-break and thin ones) dropped, decimal comma allowed
        nullif(regexp_replace(trim(revenue), '[\s\x{00A0}\x{2009}\x{202F}]', '', 'g'), '') as revenue_text,
        -- identifiers: trimmed; placeholder tokens are no identifier
        case when lower(trim(customer_id)) in (select token from cfg_null_tokens) then null else trim(customer_id) end as id_customer,
        case when lower(trim(anonymous_id)) in (select token from cfg_null_tokens) then null else trim(anonymous_id) end as id_anonymous,
        case when lower(trim(user_id)) in (select token from cfg_null_tokens) then null else trim(user_id) end as id_user,
        case when lower(trim(client_id)) in (select token from cfg_null_tokens) then null else trim(client_id) end as id_client,
        -- (pii: hash empties the cell at ingest and keeps only the hashed identifier)
        case
            when lower(trim(email)) in (select token from cfg_null_tokens) then null
            when email is null then list_filter(ids, lambda i: i.id_type = 'email')[1].id_value
            else lower(trim(email))
        end as id_email,
        case when lower(trim(phone)) in (select token from cfg_null_tokens) then null else trim(phone) end as phone_text,
        case when lower(trim(crm_contact_id)) in (select token from cfg_null_tokens) then null else trim(crm_contact_id) end as id_crm_contact
    from raw
),

parsed as (
    select
        *,
        case
            when t is null or t = '' then null
            -- epoch seconds (9-11 digits, optional fraction), milliseconds (12-14), microseconds (15-17)
            when regexp_full_match(t, '\d{9,11}(\.\d+)?') then timezone('UTC', to_timestamp(cast(t as double)))
            when regexp_full_match(t, '\d{12,14}') then epoch_ms(cast(t as bigint))
            when regexp_full_match(t, '\d{15,17}') then make_timestamp(cast(t as bigint))
            -- naive times (no zone written) are in the source's time zone
            when regexp_full_match(t, '\d{4}[-/]\d{1,2}[-/]\d{1,2}([T ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?')
                then timezone('UTC', timezone(tz, try_cast(t as timestamp)))
            when regexp_full_match(t, '\d{1,2}\.\d{1,2}\.\d{4}( \d{1,2}:\d{2}(:\d{2})?)?')
                then timezone('UTC', timezone(tz, try_strptime(t, ['%d.%m.%Y %H:%M:%S', '%d.%m.%Y %H:%M', '%d.%m.%Y'])))
            -- a written zone (an offset, Z, UTC or a zone name) wins over the configured one;
            -- a cast to timestamp would silently drop it, so only timestamptz is tried
            when regexp_matches(t, '\d:\d{2}(:\d{2}(\.\d+)?)?\s*([Zz]|[+-]\d{2}(:?\d{2})?|[A-Za-z][A-Za-z0-9_/+-]*)$')
                then timezone('UTC', try_cast(
                    regexp_replace(regexp_replace(t, '\s+([+-]\d{2}(:?\d{2})?)$', '\1'), '\s*[Zz]$', '+00:00')
                    as timestamptz))
        end as ts_parsed,
        -- a record's version time: epoch digits, a written offset, or naive in the source's zone
        case
            when updated_at is null or trim(updated_at) = '' then null
            when regexp_full_match(trim(updated_at), '\d{9,11}') then timezone('UTC', to_timestamp(cast(trim(updated_at) as double)))
            when regexp_full_match(trim(updated_at), '\d{12,14}') then epoch_ms(cast(trim(updated_at) as bigint))
            when regexp_matches(trim(updated_at), '([Zz]|[+-]\d{2}:?\d{2})$')
                then timezone('UTC', try_cast(regexp_replace(trim(updated_at), '[Zz]$', '+00:00') as timestamptz))
            else timezone('UTC', timezone(tz, try_cast(trim(updated_at) as timestamp)))
        end as updated_ts,
        try_cast(replace(revenue_text, ',', '.') as double) as revenue_parsed,
        regexp_replace(phone_text, '[^0-9]', '', 'g') as phone_digits
    from cleaned
),

phones as (
    select
        *,
        -- phones in E.164: a written '+' or '00' is the country code; Russian numbers written
        -- 8XXXXXXXXXX, 7XXXXXXXXXX or 9XXXXXXXXX get +7; anything else keeps its digits
        case
            -- normalised at ingest (records.normalise_identifiers, phonenumbers) into the identifiers
            -- list; this plan only reads rows loaded by versions before that
            when list_contains(list_transform(identifiers, lambda i: i.id_type), 'phone')
                then list_filter(ids, lambda i: i.id_type = 'phone')[1].id_value
            when phone_digits is null or phone_digits = '' then null
            when starts_with(phone_text, '+') then '+' || phone_digits
            when starts_with(phone_digits, '00') and length(phone_digits) > 4 then '+' || substr(phone_digits, 3)
            when length(phone_digits) = 11 and substr(phone_digits, 1, 1) in ('7', '8') then '+7' || substr(phone_digits, 2)
            when length(phone_digits) = 10 and starts_with(phone_digits, '9') then '+7' || phone_digits
            else phone_digits
        end as id_phone
    from parsed
),

staged as (
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
            -- format parsers: their identifiers and the event's place in its record count too
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
    -- last, so that the final select's replace keeps it in place on Spark too (spark_rewrites.star_replace)
    properties
from phones
),

references_latest as (
    select _source, kind, key, value
    from raw_reference
    qualify row_number() over (partition by _source, kind, key order by _load_id desc, _row desc) = 1
),

-- names from the parsers' dictionaries, for events that do not carry them yet
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
