-- attribution_paths: one row per move between two states of the attribution chain (grain:
-- from_state, to_state), the input of the Markov model (docs/semantics.md, "Attribution"): every
-- customer's moves (attribution_moves) summed. transitions: moves summed over customers;
-- customers: distinct customers who made the move; revenue: the conversions' revenue on the moves
-- into '(conversion)' (null elsewhere).
select
    from_state,
    to_state,
    cast(sum(transitions) as bigint) as transitions,
    count(*) as customers,
    sum(revenue) as revenue
from attribution_moves
group by from_state, to_state
