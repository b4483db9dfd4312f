-- scope_reassigned: earlier events whose customer this run may change (grain: event_id): every
-- event of a customer one of whose identity nodes now maps to another customer_id, or to none
-- (identity_map before this run's identity steps, kept for the identifiers in the scope: the
-- others keep their customer, against after). New and changed events are in the scope already.
with

changed as (
    select old.customer_id
    from _scope.old_identity_map as old
    left join identity_map as new on new.identifier = old.identifier
    where new.customer_id is distinct from old.customer_id
)

select e.event_id
from customer_events as e
semi join changed as c on c.customer_id = e.customer_id
