-- stg_values: one row per raw row (a view), its values trimmed and typed.
-- Identifier cells: a placeholder spelling (cfg_null_tokens: 'null', '-', '0', ...; see
-- docs/semantics.md, "Identity") is no identifier; the rule is written once and applied to the
-- seven identifier columns of generic sources as a list. E-mails are lower-cased. Phones are
-- normalised at ingest (phonenumbers, the source's phone_region) into the identifiers list, as
-- are every format parser's identifiers; with identity.pii: hash the e-mail cell is emptied at
-- ingest and the list holds its hash. Revenue: digit-group spaces (also no-break and thin ones)
-- dropped, a decimal comma allowed.
with

null_tokens as (
    select list(token order by token) as tokens from cfg_null_tokens
),

cells as (
    select
        r.*,
        list_transform(
            [r.customer_id, r.anonymous_id, r.user_id, r.client_id, r.email, r.phone, r.crm_contact_id],
            lambda v: case when list_contains(n.tokens, lower(trim(v))) then null else trim(v) end
        ) as id_cells,
        nullif(regexp_replace(trim(r.revenue), '[\s\x{00A0}\x{2009}\x{202F}]', '', 'g'), '') as revenue_text
    from stg_raw as r
    cross join null_tokens as n
)

select
    * exclude (id_cells),
    trim(event_time) as t,
    nullif(trim(event_type), '') as event_type_clean,
    list_extract(id_cells, 1) as id_customer,
    list_extract(id_cells, 2) as id_anonymous,
    list_extract(id_cells, 3) as id_user,
    list_extract(id_cells, 4) as id_client,
    case
        when list_extract(id_cells, 5) is not null then lower(list_extract(id_cells, 5))
        when email is null then list_filter(ids, lambda i: i.id_type = 'email')[1].id_value
    end as id_email,
    list_filter(ids, lambda i: i.id_type = 'phone')[1].id_value as id_phone,
    list_extract(id_cells, 7) as id_crm_contact,
    try_cast(replace(revenue_text, ',', '.') as double) as revenue_parsed
from cells
