-- identity_hubs: identifiers that would join too many CRM contacts (grain: identifier), e.g. a
-- reception phone typed into every contact of one company. A phone or e-mail (identity.hub_types)
-- seen in records of more than identity.max_contacts_per_identifier distinct CRM contacts joins
-- nobody: it stays on its events as an attribute but makes no identity edge.
with

contacts_per_identifier as (
    select i.identifier, i.id_type, count(distinct c.identifier) as crm_contacts, count(distinct i.event_id) as events
    from event_identifiers as i
    join event_identifiers as c on c.event_id = i.event_id and c.id_type = 'crm_contact' and not c.blocked
    where i.id_type in (select id_type from cfg_identity_hub_types) and not i.blocked
    group by i.identifier, i.id_type
)

select identifier, id_type, crm_contacts, events, $max_contacts as max_contacts
from contacts_per_identifier
where crm_contacts > $max_contacts
