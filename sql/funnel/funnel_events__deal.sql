-- funnel_events: the events the funnel reads, each with the unit it counts for (grain: event_id).
-- Unit deal: a CRM deal (the event's crm_deal identifier, else its crm_lead: an amoCRM lead is a
-- deal) with the customer's touchpoints that lead to it. unit_id is the deal's identifier
-- ('crm_lead:123'); identity stitching puts every event of one deal in one customer.
-- An event that names no deal counts for one of its customer's deals: the deal open at that time
-- (between the deal's first and last event; the latest opened if several), else the next deal to
-- open (the site visits and calls before a deal belong to it), else the last deal before it.
-- Customers with no deal are not in a deal funnel.
with

event_deals as (
    select
        event_id,
        coalesce(min(identifier) filter (where id_type = 'crm_deal'),
                 min(identifier) filter (where id_type = 'crm_lead')) as deal
    from event_identifiers
    where id_type in ('crm_deal', 'crm_lead') and not blocked
    group by event_id
),

events as (
    select c.*, d.deal
    from classified_events as c
    left join event_deals as d on d.event_id = c.event_id
),

deals as (
    select customer_id, deal, min(event_ts) as opened_at, max(event_ts) as last_at
    from events
    where deal is not null
    group by customer_id, deal
),

assigned as (
    select
        e.event_id,
        d.deal
    from events as e
    join deals as d on d.customer_id = e.customer_id
    where e.deal is null
    qualify row_number() over (
        partition by e.event_id
        order by
            case when e.event_ts between d.opened_at and d.last_at then 0
                 when d.opened_at > e.event_ts then 1
                 else 2 end,
            case when d.opened_at > e.event_ts then epoch(d.opened_at) else -epoch(d.opened_at) end,
            d.deal
    ) = 1
)

select
    coalesce(e.deal, a.deal) as unit_id,
    e.customer_id,
    e.event_id,
    e.event_ts,
    e.stage,
    e.stage_order,
    e.channel,
    e.source
from events as e
left join assigned as a on a.event_id = e.event_id
where coalesce(e.deal, a.deal) is not null
