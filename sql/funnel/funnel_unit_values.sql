-- funnel_unit_values: each unit's value of each configured breakdown (grain: unit_id, breakdown), the
-- input of funnel_breakdown; a unit (customer, deal or session) that entered the funnel (has a
-- step-1 row in funnel_customer_steps) gets exactly one value per breakdown.
-- The entry event: the step-1 event; where step 1 is implied (furthest mode) the customer's
-- first event at entered_at among the steps' events (lowest step).
-- first_channel / last_channel: channel of the first / last event with a channel whose
-- event_ts <= entered_at, in the total order (event_ts, stage_order, event_id).
-- entry_source: source of the entry event. cohort: date_trunc($cohort_period, entered_at) as
-- 'YYYY-MM-DD'. properties.<name>: that property of the entry event. Missing or empty values
-- are '(none)'.
with

customer_steps as (
    select * from funnel_customer_steps
),

events as (
    select unit_id, event_id, event_ts, stage_order, channel, source from funnel_events
),

breakdowns as (
    select distinct breakdown, property_name from cfg_breakdowns
),

entrants as (
    select unit_id, customer_id, entered_at
    from customer_steps
    where step = 1
),

entry_events as (
    select
        cs.unit_id,
        arg_min(cs.event_id, cs.step) as event_id
    from customer_steps as cs
    join entrants as en on en.unit_id = cs.unit_id
    where cs.event_id is not null
        and (cs.step = 1 or cs.event_ts = en.entered_at)
    group by cs.unit_id
),

touches as (
    select
        en.unit_id,
        arg_min(e.channel, (e.event_ts, e.stage_order, e.event_id)) as first_channel,
        arg_max(e.channel, (e.event_ts, e.stage_order, e.event_id)) as last_channel
    from entrants as en
    join events as e on e.unit_id = en.unit_id
    where e.channel is not null
        and e.event_ts <= en.entered_at
    group by en.unit_id
),

attributes as (
    select
        en.unit_id,
        en.customer_id,
        t.first_channel,
        t.last_channel,
        e.source as entry_source,
        strftime(date_trunc($cohort_period, en.entered_at), '%Y-%m-%d') as cohort,
        c.properties as entry_properties
    from entrants as en
    left join touches as t on t.unit_id = en.unit_id
    left join entry_events as ee on ee.unit_id = en.unit_id
    left join events as e on e.event_id = ee.event_id
    left join classified_events as c on c.event_id = ee.event_id
)

select
    a.unit_id,
    a.customer_id,
    b.breakdown,
    coalesce(nullif(
        case b.breakdown
            when 'first_channel' then a.first_channel
            when 'last_channel' then a.last_channel
            when 'entry_source' then a.entry_source
            when 'cohort' then a.cohort
            else a.entry_properties[b.property_name]
        end, ''), '(none)') as value
from attributes as a
cross join breakdowns as b
