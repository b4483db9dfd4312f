-- scope_events: the event ids staged from the scope's loads (grain: event_id). Run before and
-- after stg_events is rebuilt for those loads, so an id that a restaged row no longer carries is
-- recomputed too. events keeps one version of each id, so every version is read again.
select distinct s.event_id
from stg_events as s
semi join _scope.scope_loads as l on l._load_id = s._load_id
where s.event_id is not null
