-- identity_flagged: customers whose component is suspiciously large (grain: customer_id):
-- more identifiers than identity.flag_component_size. Usually a missed hub (a shared office
-- phone, a test e-mail): look at its identifiers and add the culprit to identity.blocklist.
select
    customer_id,
    count(*) as identifiers,
    count(*) filter (where identifier like 'crm_contact:%') as crm_contacts,
    count(*) filter (where identifier like 'phone:%') as phones,
    count(*) filter (where identifier like 'email:%') as emails,
    count(*) filter (where identifier like '%client_id:%') as client_ids,
    $flag_size as flag_size
from identity_map
group by customer_id
having count(*) > $flag_size
