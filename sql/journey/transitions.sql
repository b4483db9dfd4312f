-- transitions: the stage transition matrix (grain: from_stage, to_stage) from consecutive
-- stage visits, with (start) and (end) rows. kind: start, forward, skip, back, end.
-- customers counts each customer once per cell; median_gap_s is over the cell's transitions.
select
    from_stage,
    from_order,
    to_stage,
    to_order,
    any_value(kind) as kind,
    count(*) as transitions,
    count(distinct customer_id) as customers,
    median(gap_s) as median_gap_s
from stage_transitions
group by from_stage, from_order, to_stage, to_order
