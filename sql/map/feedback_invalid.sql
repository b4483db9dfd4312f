-- feedback_invalid: one row per feedback answer without a usable score (grain: event_id): the
-- answer, the entry it matched (feedback), the score as written and why it is not used (reason:
-- 'score: empty', 'score: not a number: ...', 'score: ... is off the scale ...'). These answers
-- count in no score; stage_feedback counts them per stage (invalid) and the run warns about them.
select
    event_id,
    customer_id,
    source,
    event_type,
    event_ts,
    name as feedback,
    stage,
    stage_order,
    score_text,
    reason
from map_events
where rule_set = 'feedback' and reason is not null
