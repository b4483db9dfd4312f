-- scope_loads: the loads a nightly run stages again (grain: _load_id): the files this run loaded,
-- and the earlier loads that hold a row refused as later than a run's start plus times.ahead
-- (the bound moves with every run, so such a row is checked again, as a full rebuild would).
select load_id as _load_id
from _cjm_loads
where run_id = $run_id

union

select distinct _load_id
from stg_events
where reject_reason like 'event_time: % is later than the run''s start plus times.ahead %'
