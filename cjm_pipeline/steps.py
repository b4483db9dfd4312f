"""The pipeline order, as data: :data:`STEPS`, each a :class:`Step` building one table from one SQL file.

A :class:`Step` names its output table, which is also the stem of its SQL file
``sql/<layer>/<name>.sql``; ``inputs`` are the tables it reads (checked before it runs, and by a
test against the SQL text); ``grain`` is the key that must be unique in its output (checked
after it runs); ``order`` is how the table is sorted whenever it is read or exported (default:
its grain), the one place that says so for the CLI, the exports, the report and
:class:`~cjm_pipeline.warehouse.Warehouse`.

A step with ``materialize="view"`` is a view rather than a table: one job of a larger
transformation (``stg_events`` is staged through four of them) that no one reads on its own;
DuckDB inlines it into the query that reads it. A view takes no ``$params``.

A step with ``iterate_param`` computes a fixpoint: its SQL file makes round 0 and
``sql/<layer>/<name>__next.sql`` (reading the table itself) makes the next round, repeated
until a round changes nothing, at most ``params[iterate_param]`` rounds; a step that has not
converged by then fails rather than return a partial answer.

A step with ``python`` is built by a Python function instead of a SQL file: it receives the
step's input tables as pandas DataFrames (only those, read through the engine) and the run
parameters, and returns the step's table, which the engine writes (``predict`` solves its small
Markov chains so). It has no SQL file; ``inputs`` still says what it reads.

A step with ``variants`` has one SQL file per variant, ``sql/<layer>/<name>__<variant>.sql``,
chosen by the run parameter ``variant_param`` (e.g. the funnel mode). Every variant
builds the same table with the same columns; ``inputs`` is the union of what they read.

The layers, in order: ``staging`` (raw rows typed and checked), ``events`` (unified events and
the row accounting), ``identity`` (customers), ``stages`` (each event's stage, and the rules'
coverage), ``journey`` (stage visits, transitions, flows, dwell, stock), ``map`` (each visit's
touchpoints, feedback answers and pain events, per-stage feedback), ``funnel`` (the funnel,
its breakdowns and trends), ``outputs`` (the per-customer journeys, loops, paths, barriers,
KPIs and the journey map, which read both: "converted" is always the funnel's) and ``predict`` (next-stage
probabilities, the outlook, predictions and their back-test, attribution to channels).
"""

from __future__ import annotations

import difflib
import time
from dataclasses import dataclass
from typing import Any, Callable

import duckdb
import pandas as pd

from . import db, predict
from .config import FUNNEL_UNITS
from .engines import Engine, as_engine
from .errors import CjmError, StepError
from .funnel import ATTEMPT_RULES


@dataclass(frozen=True)
class Step:
    name: str
    layer: str
    inputs: tuple[str, ...]
    grain: tuple[str, ...] = ()
    doc: str = ""
    variant_param: str | None = None
    variants: tuple[str, ...] = ()
    iterate_param: str | None = None
    order: tuple[str, ...] = ()
    """How the table is sorted when read or exported; default: its grain."""
    materialize: str = "table"
    """``table``, or ``view`` for an intermediate job inlined into the step that reads it."""
    python: Callable[[dict[str, pd.DataFrame], dict[str, Any]], pd.DataFrame] | None = None
    """Builds the table from the input tables and the run parameters, instead of a SQL file."""
    scope: str | None = None
    """``loads``, ``events``, ``identifiers`` or ``customers``: the table is per row of that kind, and a
    nightly run recomputes only the rows of the loads, events, identity components or customers the
    night touched (:mod:`cjm_pipeline.incremental`); none: the step is rebuilt whole."""
    keep: bool = True
    """False: an intermediate that only later steps read, dropped once every step is built (the
    identity graph numbered for its rounds: a nightly run numbers only the components it touches)."""

    def sql_path(self, params: dict[str, Any] | None = None) -> str:
        """The SQL file for these run parameters (relative to ``sql/``)."""
        if not self.variant_param:
            return f"{self.layer}/{self.name}.sql"
        variant = (params or {}).get(self.variant_param)
        if variant not in self.variants:
            raise StepError(self.name, f"{self.variant_param} must be one of {', '.join(self.variants)}, got {variant!r}")
        return f"{self.layer}/{self.name}__{variant}.sql"

    @property
    def next_sql_path(self) -> str | None:
        """The SQL file of one more round of an iterated step."""
        return f"{self.layer}/{self.name}__next.sql" if self.iterate_param else None

    @property
    def sql_paths(self) -> tuple[str, ...]:
        """Every SQL file of this step (one, one per variant, or round 0 and the next round; none for a
        Python step)."""
        if self.python is not None:
            return ()
        if self.iterate_param:
            return (self.sql_path(), self.next_sql_path)
        if not self.variant_param:
            return (self.sql_path(),)
        return tuple(self.sql_path({self.variant_param: v}) for v in self.variants)

    @property
    def order_by(self) -> tuple[str, ...]:
        return self.order or self.grain

    def run(self, con: "duckdb.DuckDBPyConnection | Engine", params: dict[str, Any], *,
            check_grain: bool = True) -> "StepResult":
        """Build the output on a DuckDB connection or an :class:`~cjm_pipeline.engines.Engine`;
        return its row count (none for a view) and the seconds it took."""
        engine = as_engine(con)
        existing = engine.tables()
        missing = [t for t in self.inputs if t not in existing]
        if missing:
            raise StepError(self.name, f"missing input tables {missing}")
        started = time.perf_counter()
        if self.materialize == "view":
            engine.view(self.name, self.sql_path(params))
            return StepResult(self.name, None, time.perf_counter() - started)
        if self.python is not None:
            frame = self.python({t: engine.read_frame(t) for t in self.inputs}, params)
            engine.write_frame(self.name, frame)
        else:
            engine.materialize(self.name, self.sql_path(params), params)
        rounds = self._iterate(engine, params) if self.iterate_param else None
        if check_grain and self.grain:
            self.check_grain(engine)
        rows = engine.scalar(f"select count(*) from {self.name}")
        return StepResult(self.name, rows, time.perf_counter() - started, rounds)

    def _iterate(self, engine: Engine, params: dict[str, Any]) -> int:
        """Repeat the next-round SQL until the table stops changing; return the rounds it took."""
        limit = int(params[self.iterate_param])
        nxt = f"{self.name}__next"
        try:
            for rounds in range(1, limit + 1):
                engine.materialize(nxt, self.next_sql_path, params)
                changed = engine.scalar(f"select count(*) from (select * from {nxt} except select * from {self.name})")
                engine.rename(nxt, self.name)
                if not changed:
                    return rounds
        finally:
            engine.drop(nxt)
        raise StepError(self.name, f"did not converge in {limit} rounds ({self.iterate_param}); "
                                   "raise it in the config if the data really has such long chains")

    def check_grain(self, con: "duckdb.DuckDBPyConnection | Engine") -> None:
        keys = ", ".join(db.quote_ident(k) for k in self.grain)
        dupes = as_engine(con).scalar(
            f"select count(*) from (select {keys} from {self.name} group by all having count(*) > 1)")
        if dupes:
            raise StepError(self.name, f"grain ({', '.join(self.grain)}) is not unique: {dupes} duplicated keys")


@dataclass(frozen=True)
class StepResult:
    step: str
    rows: int | None
    """Rows of the table built (None for a view)."""
    seconds: float
    rounds: int | None = None
    """Rounds an iterated step took to converge."""


#: Tables the steps read that no step builds: the raw layer and the config tables.
SOURCE_TABLES = (
    "raw_events", "raw_rejects", "raw_reference", "_cjm_loads",
    "cfg_sources", "cfg_null_tokens", "cfg_reference_lookups", "cfg_identity_blocklist", "cfg_identity_hub_types",
    "_cjm_identity_state", "identity_merges", "cfg_stages", "cfg_stage_rules", "cfg_rule_conditions", "cfg_funnel_steps",
    "cfg_stage_kpis", "cfg_breakdowns", "cfg_time_range",
    "cfg_map_conditions", "cfg_feedback", "cfg_pains", "cfg_map",
)

STEPS: tuple[Step, ...] = (
    # staging: raw rows typed and checked, one job per file
    Step("hit_visits", "staging", ("raw_events", "cfg_sources"), grain=("watch_id",),
         doc="Metrica hits with their visit and its traffic attribution"),
    Step("stg_raw", "staging", ("raw_events", "cfg_sources", "hit_visits"), materialize="view",
         doc="raw rows of the configured sources with their time zone; Metrica hits take their visit's traffic"),
    Step("stg_values", "staging", ("stg_raw", "cfg_null_tokens"), materialize="view",
         doc="values trimmed and typed: placeholder identifiers, revenue, the identifiers the parsers listed"),
    Step("stg_times", "staging", ("stg_values",), materialize="view",
         doc="event and version times in UTC, from every spelling the sources use"),
    Step("stg_checked", "staging", ("stg_times", "cfg_time_range"), materialize="view",
         doc="each row's stable event_id and, for an unusable row, the reason (an implausible time included)"),
    Step("stg_events", "staging", ("stg_checked", "raw_reference", "cfg_reference_lookups"), scope="loads",
         doc="raw rows typed and checked, with names from the parsers' dictionaries; rejected records marked"),
    # events: one row per distinct event, and every input row accounted for
    Step("events", "events", ("stg_events", "cfg_sources"), grain=("event_id",), scope="events",
         doc="unified events, duplicates removed"),
    Step("quarantine", "events", ("raw_rejects", "stg_events", "cfg_sources"), order=("source", "file", "row_number"),
         doc="input rows that could not be loaded, with the reason"),
    Step("source_accounting", "events", ("_cjm_loads", "stg_events", "events", "quarantine", "raw_reference",
                                         "cfg_sources"),
         grain=("source",), doc="rows in = loaded + duplicate + quarantined, per source"),
    # identity: customers
    Step("event_identifiers", "identity", ("events", "cfg_identity_blocklist"), grain=("event_id", "identifier"),
         scope="events",
         doc="identifier observations: which event carried which identifier (cleaned, raw), blocked or not"),
    Step("identity_hubs", "identity", ("event_identifiers", "cfg_identity_hub_types"), grain=("identifier",),
         doc="phones/e-mails on too many CRM contacts: they join nobody"),
    Step("event_nodes", "identity", ("events", "event_identifiers", "identity_hubs"), grain=("event_id",),
         scope="events",
         doc="each event's identity node (its smallest linking identifier, or the event itself)"),
    Step("identity_edges", "identity", ("event_nodes", "event_identifiers", "identity_hubs"), grain=("id_a", "id_b"),
         scope="identifiers",
         doc="identifier pairs seen in one record (blocked identifiers and hubs excluded)"),
    Step("identity_nodes", "identity", ("identity_edges",), grain=("identifier",), scope="identifiers", keep=False,
         doc="each identity node numbered (integers make the component rounds cheap)"),
    Step("identity_adjacency", "identity", ("identity_edges", "identity_nodes"), grain=("src", "dst"),
         scope="identifiers", keep=False,
         doc="the identity graph as integer pairs, both directions"),
    Step("identity_components", "identity", ("identity_adjacency",), grain=("node_id",),
         iterate_param="max_iterations", scope="identifiers", keep=False,
         doc="connected components: min-label propagation with pointer jumping, repeated to a fixpoint"),
    Step("identity_map", "identity", ("identity_components", "identity_nodes", "_cjm_identity_state"),
         grain=("identifier",), scope="identifiers",
         doc="identifier -> customer_id, stable across runs (a merge keeps the oldest id)"),
    Step("identity_run_merges", "identity", ("identity_map", "_cjm_identity_state", "identity_edges"),
         grain=("customer_id",), scope="identifiers", doc="earlier customers this run joins into one, with a linking identifier"),
    Step("identity_flagged", "identity", ("identity_map",), grain=("customer_id",),
         doc="customers with more identifiers than identity.flag_component_size"),
    Step("customer_events", "identity", ("events", "event_nodes", "identity_map"), grain=("event_id",),
         scope="events",
         doc="each event's customer_id (with its source, type and time)"),
    # stages: each event's stage
    Step("rule_keys", "stages", ("cfg_rule_conditions", "cfg_map_conditions"), materialize="view",
         doc="the keys the stage, feedback and pain rules test: what an event's signature holds"),
    Step("event_signatures", "stages", ("events", "rule_keys"), materialize="view",
         doc="each event with its signature: the values of the keys some rule tests"),
    Step("signature_keys", "stages", ("event_signatures", "rule_keys", "cfg_rule_conditions", "cfg_map_conditions"),
         grain=("sig", "rule_id", "cond_key"),
         doc="the one rule matcher: per signature, rule and key, whether the key matches (stage and map rules)"),
    Step("signature_rules", "stages", ("signature_keys",), materialize="view",
         doc="every (signature, rule) that matches: the rules whose every key matches"),
    Step("classified_events", "stages", ("event_signatures", "signature_rules", "customer_events", "cfg_stage_rules"),
         grain=("event_id",), scope="customers", doc="events with their customer_id and stage (first matching rule)"),
    Step("data_cutoff", "stages", ("classified_events",),
         doc="the data's last event: journeys and visits whose window ended by then are complete"),
    Step("stage_coverage", "stages", ("classified_events", "cfg_stages"), grain=("stage",), order=("stage_order", "stage"),
         doc="events and customers per stage, and events with no stage"),
    Step("unmatched_event_types", "stages", ("classified_events",), grain=("source", "event_type"),
         doc="event types no rule matched"),
    Step("rule_coverage", "stages", ("signature_keys", "cfg_stage_rules", "cfg_rule_conditions"), grain=("rule_id", "cond_key"),
         order=("stage_order", "rule_index", "cond_key"),
         doc="per stage rule and key: events the rule matches, the key alone matches, and the rule gives its stage"),
    # journey: the stage timeline, whatever the funnel settings
    Step("stage_visits", "journey", ("classified_events",), grain=("customer_id", "visit_index"), scope="customers",
         doc="consecutive events of one stage collapsed into visits"),
    Step("stage_transitions", "journey", ("stage_visits",), grain=("customer_id", "transition_index"),
         scope="customers",
         doc="moves between consecutive visits: start, forward, skip, back, end"),
    Step("transitions", "journey", ("stage_transitions",), grain=("from_stage", "to_stage"),
         order=("from_order", "to_order", "from_stage", "to_stage"), doc="stage transition matrix"),
    Step("stage_dwell", "journey", ("stage_visits", "cfg_stages"), grain=("stage",), order=("stage_order",),
         doc="time spent in each stage visit (median, p90, mean) and open visits"),
    Step("step_flows", "journey", ("stage_visits",), grain=("step", "from_stage", "to_stage"),
         order=("step", "from_order", "to_order", "from_stage", "to_stage"),
         doc="the stage flow by visit number (step 1..N): the step-indexed Sankey, returns as later columns"),
    Step("customer_paths", "journey", ("stage_visits",), grain=("customer_id",), scope="customers",
         doc="each customer's full and collapsed stage path, and the time from the first visit to the last"),
    Step("stage_stock", "journey", ("stage_visits", "cfg_stages"), grain=("day", "stage"), order=("day", "stage_order"),
         doc="active customers per current stage at the end of each day, and the (lapsed) band"),
    # map: what customers do, say and hit at each stage, whatever the funnel settings (the journey map's inputs)
    Step("visit_touchpoints", "map", ("classified_events", "stage_visits", "stage_transitions"),
         grain=("customer_id", "visit_index", "touchpoint"), scope="customers",
         doc="each stage visit's events by event type, source and channel (unstaged ones during it too), with the "
             "visit's stage and when it moves on"),
    Step("map_events", "map", ("event_signatures", "signature_rules", "classified_events", "stage_visits",
                               "cfg_feedback", "cfg_pains", "cfg_stages"), grain=("event_id", "rule_set"),
         scope="customers",
         doc="feedback answers and pain events (first matching entry), at their stage; scores parsed and checked"),
    Step("feedback_invalid", "map", ("map_events",), grain=("event_id",), order=("event_ts", "event_id"),
         doc="feedback answers whose score is empty, not a number or off the scale, with the reason"),
    Step("stage_feedback", "map", ("map_events", "cfg_feedback", "cfg_stages"), grain=("stage", "feedback"),
         order=("stage_order", "feedback_order"),
         doc="per stage (and feedback entry): answers, customers, mean score, normalised score, NPS, negative share"),
    # funnel: depends on the funnel settings (rebuilt by `cjm funnel` and for each named funnel)
    Step("funnel_events", "funnel", ("classified_events", "event_identifiers"), grain=("event_id",), scope="customers",
         variant_param="unit", variants=FUNNEL_UNITS,
         doc="the events the funnel reads, each with its unit: customer, CRM deal or session (funnel.unit)"),
    Step("funnel_positions", "funnel", ("funnel_events", "cfg_funnel_steps"), grain=("unit_id", "pos"), scope="customers",
         doc="each unit's funnel-stage events in order, with their stage visit, and the attempts' anchors"),
    Step("funnel_attempts", "funnel", ("funnel_positions", "funnel_events", "cfg_funnel_steps"),
         grain=("unit_id", "attempt", "step"), variant_param="attempt_rule", variants=ATTEMPT_RULES, scope="customers",
         doc="per attempt (step-1 entry), the steps it reaches: event chains (ordered, strict) or furthest stage"),
    Step("funnel_customer_steps", "funnel", ("funnel_attempts", "data_cutoff"), grain=("unit_id", "step"),
         scope="customers",
         doc="per unit (customer, deal or session), the steps of its best attempt, and whether its window has closed"),
    Step("funnel", "funnel", ("funnel_customer_steps", "funnel_events", "cfg_funnel_steps"), grain=("step",),
         doc="the ordered funnel with conversion, drop-off and time to convert"),
    Step("funnel_unit_values", "funnel", ("funnel_customer_steps", "funnel_events", "classified_events",
                                          "cfg_breakdowns"), grain=("unit_id", "breakdown"), scope="customers",
         doc="each unit's value of each breakdown (first/last channel, entry source, cohort, property)"),
    Step("funnel_breakdown", "funnel", ("funnel_unit_values", "funnel_customer_steps", "data_cutoff",
                                        "cfg_funnel_steps"), grain=("breakdown", "value", "step"),
         doc="the funnel per value of each breakdown (first/last channel, entry source, cohort, property)"),
    Step("ttc_histogram", "funnel", ("funnel_customer_steps", "cfg_funnel_steps"), grain=("step", "bin_index"),
         doc="time from each funnel step to the next, in fixed bins (<1m ... 30d+)"),
    Step("funnel_trends", "funnel", ("funnel_attempts", "classified_events", "cfg_funnel_steps"),
         grain=("period_start", "step"), doc="the funnel by entry period, each period's best attempt per customer"),
    # outputs: read the journey and the funnel layers
    Step("journeys", "outputs", ("classified_events", "stage_visits", "stage_transitions", "funnel_customer_steps",
                                 "cfg_funnel_steps"), grain=("customer_id",), scope="customers",
         doc="one row per customer: path, furthest stage, back-steps, conversion"),
    Step("loops", "outputs", ("stage_visits", "stage_transitions", "journeys"), grain=("from_stage", "to_stage"),
         order=("from_order", "to_order"),
         doc="back-steps j -> i: customers, occurrences, resolved share, return time, looper vs non-looper conversion"),
    Step("paths", "outputs", ("customer_paths", "journeys"), grain=("path_kind", "stage_path"), order=("path_kind", "rank"),
         doc="most common full and collapsed stage paths (top N per kind, plus (other)), with their conversion"),
    Step("barriers", "outputs", ("funnel", "transitions", "stage_coverage"), grain=("barrier_kind", "rank"),
         doc="top 5 drop-offs, slow steps and back-steps, with the numbers behind each rank"),
    Step("stage_kpis", "outputs", ("cfg_stage_kpis", "funnel"), grain=("stage", "kpi"), order=("stage_order", "kpi"),
         doc="stage KPI targets from the config against the funnel: actual, met, gap"),
    Step("stage_touchpoints", "outputs", ("visit_touchpoints", "cfg_stages", "cfg_map"),
         grain=("stage", "touchpoint"), order=("stage_order", "rank"),
         doc="per stage, its top touchpoints (event type, source, channel) and (other): share, forward rate, lift"),
    Step("stage_pains", "outputs", ("map_events", "stage_visits", "stage_transitions", "barriers", "cfg_stages"),
         grain=("stage", "rank"), order=("stage_order", "rank"),
         doc="per stage, pains (rules, low scores, back-steps, funnel barriers): customers, forward rate hit vs not"),
    # predict: where each customer goes next, and which channels earn the conversion (the main funnel's goal)
    Step("visit_outcomes", "predict", ("stage_visits", "data_cutoff", "cfg_funnel_steps"),
         grain=("customer_id", "visit_index"), scope="customers",
         doc="each stage visit's outcome within the window: the next stage, (end), or still open; the next goal visit"),
    Step("stage_next", "predict", ("visit_outcomes",), grain=("from_stage", "to_stage"),
         order=("from_order", "to_order", "from_stage", "to_stage"),
         doc="next-stage probabilities over complete visits, (end) included, with transitions and median gap"),
    Step("stage_chain", "predict", ("stage_next", "cfg_stages", "cfg_funnel_steps"), grain=("stage",),
         order=("stage_order",), python=predict.stage_chain,
         doc="the absorbing chain of stage_next solved exactly: P(goal), expected visits, likeliest next stage"),
    Step("goal_rates", "predict", ("visit_outcomes", "classified_events", "cfg_stages"),
         grain=("fit", "stage", "bucket"), order=("fit", "stage_order", "bucket"),
         doc="share of visits reaching the goal within the window, by stage and time already spent (now, back-test)"),
    Step("journey_predictions", "predict", ("visit_outcomes", "goal_rates", "stage_chain", "classified_events"),
         grain=("customer_id",),
         doc="open journeys at the cutoff: current stage, time in it, likeliest next stage, P(goal within window)"),
    Step("stage_outlook", "predict", ("stage_chain", "visit_outcomes", "journey_predictions", "cfg_stages"),
         grain=("stage",), order=("stage_order",),
         doc="per stage: the chain's outlook, the observed share reaching the goal and time to it, open journeys"),
    Step("prediction_backtest", "predict", ("visit_outcomes", "goal_rates", "classified_events"),
         grain=("customer_id",),
         doc="the predictions made at cutoff minus window for the journeys open then, and what happened"),
    Step("prediction_quality", "predict", ("prediction_backtest", "classified_events"), grain=("model",),
         doc="the back-test's Brier score and ROC AUC, for the model and the naive baseline"),
    Step("prediction_calibration", "predict", ("prediction_backtest",), grain=("model", "decile"),
         doc="the back-test by decile of predicted probability: mean predicted against observed"),
    Step("attribution_touches", "predict", ("classified_events", "cfg_funnel_steps"), grain=("customer_id", "pos"),
         scope="customers",
         doc="each converter's touchpoints with a channel, up to the conversion (the goal's first event)"),
    Step("attribution_moves", "predict", ("attribution_touches", "classified_events"),
         grain=("customer_id", "from_state", "to_state"), scope="customers",
         doc="each customer's moves between channels, (start) to (conversion) or (null), counted"),
    Step("attribution_paths", "predict", ("attribution_moves",), grain=("from_state", "to_state"),
         doc="moves between channels over every customer's path, (start) to (conversion) or (null)"),
    Step("attribution_markov", "predict", ("attribution_paths",), grain=("channel",), python=predict.attribution_markov,
         doc="each channel's removal effect, solved exactly, and the conversions it earns"),
    Step("attribution_heuristics", "predict", ("attribution_touches",), grain=("channel", "model"),
         doc="conversions credited by first touch, last touch, linear, time decay and position-based"),
    Step("attribution", "predict", ("attribution_heuristics", "attribution_markov"), grain=("channel", "model"),
         order=("model_order", "channel"),
         doc="conversions and revenue per channel, every model side by side, with shares"),
    Step("visit_entry_channels", "predict", ("classified_events", "stage_visits"), grain=("customer_id", "visit_index"),
         scope="customers", doc="the channel that brought each stage visit (the touch before entering it)"),
    Step("stage_entry_channels", "predict", ("visit_entry_channels",), grain=("stage", "channel"),
         order=("stage_order", "channel"),
         doc="which channels bring customers into each stage (the touch before entering it)"),
    # the map last: its next section reads the predict layer's probabilities and outlook
    Step("journey_map", "outputs", ("cfg_stages", "cfg_map", "stage_touchpoints", "stage_feedback",
                                    "map_events", "stage_pains", "stage_visits", "funnel", "stage_dwell", "stage_kpis",
                                    "stage_next", "stage_outlook"), grain=("stage", "section", "rank"),
         order=("stage_order", "section_order", "rank"),
         doc="the journey map: per stage and section (touchpoints, feelings, pains, kpis, next), its items"),
)

STEP_NAMES = tuple(s.name for s in STEPS)
BY_NAME = {s.name: s for s in STEPS}

#: Steps that depend only on the funnel settings: rebuilt by `cjm funnel` and for each named funnel.
FUNNEL_STEPS = tuple(s.name for s in STEPS if s.layer in ("funnel", "outputs"))


def order_of(table: str) -> tuple[str, ...]:
    """How a step's table is sorted when read or exported (none for other tables).

    >>> order_of("transitions"), order_of("journeys"), order_of("_cjm_runs")
    (('from_order', 'to_order', 'from_stage', 'to_stage'), ('customer_id',), ())
    """
    step = BY_NAME.get(table)
    return step.order_by if step else ()


def select_steps(until: str | None = None) -> tuple[Step, ...]:
    """The steps up to and including ``until`` (all when None)."""
    if until is None:
        return STEPS
    if until not in STEP_NAMES:
        close = difflib.get_close_matches(until, STEP_NAMES, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise CjmError(f"unknown step '{until}'{hint} (steps: {', '.join(STEP_NAMES)})")
    return STEPS[: STEP_NAMES.index(until) + 1]
