"""The config as frozen dataclasses, with values typed once, when the config is loaded.

Durations are :class:`~cjm_pipeline.units.Duration` (the text as written, plus ``.seconds``)
and entry dates :class:`EntryDate` (the text, plus the instant), so no other module parses
a config value again. A dataclass made in code (``replace(cfg.funnel, window="30d")``) types
its values the same way in ``__post_init__``; an unreadable value raises ``ValueError`` there,
while :func:`cjm_pipeline.config.load.config_from_dict` reports it with its key path.
"""

from __future__ import annotations

import datetime as dt
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..units import Duration
from .map_sections import FeedbackEntry, PainEntry, feedback_entries, pain_entries

FUNNEL_MODES = ("ordered", "strict", "furthest")
#: What the funnel counts: customers (default), CRM deals (leads) or sessions.
FUNNEL_UNITS = ("customer", "deal", "session")
BREAKDOWNS = ("first_channel", "last_channel", "entry_source", "cohort")
PERIODS = ("day", "week", "month")
CSV_ENCODINGS = ("utf-8", "utf-8-sig")
OUTPUT_FORMATS = ("csv", "parquet", "json")
ENGINES = ("duckdb", "spark")
PII_MODES = ("clear", "hash")
OUTPUT_PII = ("mask", "clear")
#: ``sources[i].on_unreadable_file``: fail the run, or quarantine the file and go on.
UNREADABLE_FILE = ("stop", "quarantine")
#: ``output.precision``: rates rounded to 4 significant digits in exported files, or as computed.
PRECISIONS = ("rounded", "full")


class EntryDate(str):
    """A date (``2025-01-31``) or date-time (``2025-01-31 18:00``) of the entry range, as written,
    with the naive instant it starts at (:attr:`at`) and whether it is a whole day (:attr:`is_date`).

    >>> d = EntryDate("2025-01-31")
    >>> d, d.at, d.is_date
    ('2025-01-31', datetime.datetime(2025, 1, 31, 0, 0), True)
    >>> EntryDate(dt.datetime(2025, 1, 31, 18)).at
    datetime.datetime(2025, 1, 31, 18, 0)
    """

    at: dt.datetime
    is_date: bool

    def __new__(cls, value: Any) -> "EntryDate":
        if isinstance(value, EntryDate):
            return value
        if isinstance(value, dt.datetime):
            at, is_date = value.replace(tzinfo=None), False
        elif isinstance(value, dt.date):
            at, is_date = dt.datetime.combine(value, dt.time()), True
        else:
            text = str(value).strip()
            is_date = bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", text))
            try:
                at = dt.datetime.fromisoformat(text).replace(tzinfo=None)
            except ValueError:
                raise ValueError(f"{value!r} is not a date; write e.g. '2025-01-31' or '2025-01-31 18:00'") from None
        self = super().__new__(cls, str(value))
        self.at, self.is_date = at, is_date
        return self

    def end(self) -> dt.datetime:
        """The exclusive end of a range that ends here: the next midnight for a whole day."""
        return self.at + dt.timedelta(days=1) if self.is_date else self.at


def _typed(obj: Any, **kinds: Any) -> None:
    """Set each named field of a frozen dataclass to its typed value (None stays None)."""
    for name, kind in kinds.items():
        value = getattr(obj, name)
        if isinstance(value, dict):
            object.__setattr__(obj, name, {k: kind(v) for k, v in value.items()})
        elif value is not None and value != "":
            object.__setattr__(obj, name, kind(value))


@dataclass(frozen=True)
class SourceConfig:
    """One input: a file, a glob or a folder of CSV/Parquet files in one format."""

    name: str
    format: str
    path: str = ""
    """A file, a glob or a folder; required for every format that reads files."""
    columns: dict[str, str] = field(default_factory=dict)
    """Renames the file's own headers to the unified names: ``{file header: unified name}``."""
    encoding: str = "auto"
    """``auto`` (UTF-8 with or without BOM, else cp1251) or any Python codec name."""
    delimiter: str = "auto"
    """``auto`` sniffs among ``,`` ``;`` tab and ``|``."""
    timezone: str | None = None
    """Time zone of naive timestamps in this source; default: the config's ``timezone``."""
    phone_region: str = "RU"
    """Region of phone numbers written without a country code (``8 916 ...``): an ISO code."""
    options: dict[str, Any] = field(default_factory=dict)
    """Format-specific settings (``cjm formats`` lists each format's options and defaults)."""
    on_unreadable_file: str = "stop"
    """A file that cannot be read at all (not JSON, no header, a missing column): ``stop`` fails
    the run naming the file; ``quarantine`` records it in ``quarantine`` and loads the others."""


@dataclass(frozen=True)
class StageConfig:
    """A journey stage; an event belongs to the first stage with a matching rule."""

    #: Stage KPI keys and the unit of their target: all measure the move to the next stage.
    KPI_UNITS: typing.ClassVar[dict[str, str]] = {
        "conversion_to_next_min": "ratio",
        "median_time_to_next_max": "seconds",
        "drop_off_rate_max": "ratio",
    }

    name: str
    rules: list[dict[str, Any]]
    description: str = ""
    kpi: dict[str, Any] = field(default_factory=dict)
    """Targets for this stage, checked in ``stage_kpis``: ``conversion_to_next_min`` and
    ``drop_off_rate_max`` (fractions 0..1), ``median_time_to_next_max`` (a duration, ``7d``)."""

    window: Duration | None = None
    """Per-step window: the longest time from the previous funnel step's event to this stage's
    event (``30m``, ``60d``), on top of the funnel's window; ordered and strict funnels only."""

    def __post_init__(self) -> None:
        _typed(self, window=Duration)

    def kpi_targets(self) -> list[tuple[str, float, str]]:
        """``(kpi, target, unit)`` for each configured KPI, durations in seconds, in :attr:`KPI_UNITS` order.

        >>> StageConfig("a", [], kpi={"median_time_to_next_max": "2d", "conversion_to_next_min": 0.4}).kpi_targets()
        [('conversion_to_next_min', 0.4, 'ratio'), ('median_time_to_next_max', 172800.0, 'seconds')]
        """
        return [(key, float(Duration(self.kpi[key]).seconds if unit == "seconds" else self.kpi[key]), unit)
                for key, unit in self.KPI_UNITS.items() if key in self.kpi]

    @property
    def window_seconds(self) -> int | None:
        return self.window.seconds if self.window is not None else None


@dataclass(frozen=True)
class FunnelConfig:
    mode: str = "ordered"
    window: Duration = Duration("90d")
    from_stage: str | None = None
    """First stage of the funnel (default: the first configured stage)."""
    to_stage: str | None = None
    """Last stage of the funnel (default: the last configured stage)."""
    entry_from: EntryDate | None = None
    """Only entries (step-1 events) on or after this date/time count; conversions are followed past it."""
    entry_to: EntryDate | None = None
    """Only entries before the end of this date (or before this date-time) count."""
    breakdowns: list[str] = field(default_factory=lambda: ["first_channel", "last_channel", "entry_source", "cohort"])
    """Funnel breakdowns: first_channel, last_channel, entry_source, cohort, or properties.<name>."""
    top_n: int = 20
    """Values per breakdown before the rest become '(other)'."""
    cohort_period: str = "week"
    """Entry cohort for the ``cohort`` breakdown: day, week or month."""
    trend_period: str = "week"
    """Entry period of ``funnel_trends``: day, week or month."""
    step_windows: dict[str, Duration] = field(default_factory=dict)
    """Per-step windows for this funnel, ``{stage: duration}``; they replace the stages' own ``window``."""
    unit: str = "customer"
    """What the funnel counts: ``customer``, ``deal`` (a CRM deal or lead with the touchpoints
    that lead to it) or ``session`` (a customer's events without a gap longer than ``session_gap``)."""
    session_gap: Duration = Duration("30m")
    """Inactivity that ends a session (unit ``session``)."""

    def __post_init__(self) -> None:
        _typed(self, window=Duration, session_gap=Duration, step_windows=Duration,
               entry_from=EntryDate, entry_to=EntryDate)
        if self.entry_from == "":
            object.__setattr__(self, "entry_from", None)
        if self.entry_to == "":
            object.__setattr__(self, "entry_to", None)

    @property
    def window_seconds(self) -> int:
        return self.window.seconds

    @property
    def session_gap_seconds(self) -> int:
        return self.session_gap.seconds

    def entry_bounds(self) -> tuple[dt.datetime | None, dt.datetime | None]:
        """The entry range as [start, end) datetimes; a date for ``entry_to`` includes that whole day.

        >>> FunnelConfig(entry_from="2025-01-01", entry_to="2025-01-31").entry_bounds()
        (datetime.datetime(2025, 1, 1, 0, 0), datetime.datetime(2025, 2, 1, 0, 0))
        """
        return (self.entry_from.at if self.entry_from is not None else None,
                self.entry_to.end() if self.entry_to is not None else None)


@dataclass(frozen=True)
class NamedFunnelConfig(FunnelConfig):
    """One more funnel in ``funnels:``, built beside the main one into schema ``funnel_<name>``."""

    name: str = ""


#: Placeholder values that join nobody, whatever the config says (RE2 regex, matched on cleaned values).
DEFAULT_BLOCKLIST = {
    "email": [r"re:^(test|noemail|nomail|no|none|null|email|mail)@", r"re:@(test|example)\.(ru|com|org|net)$"],
    "phone": [r"re:^\+7(0{10}|1{10}|2{10}|3{10}|4{10}|5{10}|6{10}|7{10}|8{10}|9{10})$",
              r"re:^\+79(0{9}|1{9}|2{9}|3{9}|4{9}|5{9}|6{9}|7{9}|8{9}|9{9})$", "+79876543210", "+79000000000",
              "+79123456789"],
}


@dataclass(frozen=True)
class IdentityConfig:
    """How records are stitched into customers (see README, "Identity")."""

    blocklist: dict[str, list[str]] = field(default_factory=dict)
    """Identifier values that join nobody, by type (or ``any``): exact values or ``re:`` RE2
    regexes, e.g. ``{phone: ["+74951234567"], email: ["re:@ourcompany\\.ru$"]}``. Added to the
    built-in placeholders (``test@test.ru``, ``+79999999999``, ...)."""
    max_contacts_per_identifier: int = 3
    """A phone or e-mail seen with more CRM contacts than this is a hub (a reception phone):
    it joins nobody and is listed in ``identity_hubs``."""
    hub_types: list[str] = field(default_factory=lambda: ["phone", "email"])
    flag_component_size: int = 50
    """A customer with more identifiers than this is listed in ``identity_flagged`` and warned about."""
    max_iterations: int = 60
    """Rounds of connected-component propagation before the run fails instead of guessing."""
    pii: str = "clear"
    """``clear``: phones and e-mails are stored as loaded; ``hash``: only salted hashes of them are
    stored anywhere in the warehouse (see :mod:`cjm_pipeline.pii`)."""
    pii_salt_env: str = "CJM_PII_SALT"
    """The environment variable holding the salt of ``pii: hash``."""
    pii_columns: list[str] = field(default_factory=list)
    """Columns or properties whose whole value is personal data no pattern recognises (a name, an
    address, a passport number): with ``pii: hash`` their values are stored as salted hashes."""
    max_identifiers_per_record: int = 50
    """A record with more identifiers than this (a cell of 5,000 phone numbers) is quarantined at
    load time instead of gluing thousands of people together."""

    def blocklist_rows(self) -> list[tuple[str, str, str]]:
        """``(id_type, match kind, pattern)`` for the built-in and configured values.

        >>> IdentityConfig(blocklist={"phone": ["+74951234567"]}).blocklist_rows()[-1]
        ('phone', 'exact', '+74951234567')
        """
        rows = []
        for source in (DEFAULT_BLOCKLIST, self.blocklist):
            for id_type, values in source.items():
                for v in values:
                    text = str(v)
                    rows.append((id_type, "regex", text[3:]) if text.startswith("re:") else (id_type, "exact", text))
        return rows

    def blocklist_regex(self) -> str:
        r"""The blocklist's regexes as one RE2 pattern, matched against ``<id_type>\n<value>``.

        SQL binds it as a parameter: a pattern read from a table row is compiled again for every
        value, a bound one once per query. Each regex keeps its own type (``any``: every type);
        ``^`` and ``$`` still mean the start and end of the value (multi-line mode, the value is
        the second line). A blocklist without regexes matches nothing.

        >>> import re
        >>> rx = IdentityConfig(blocklist={"email": [r"re:@corp\.ru$"], "any": ["re:^0+$"]}).blocklist_regex()
        >>> [bool(re.search(rx, s)) for s in ("email\na@corp.ru", "phone\na@corp.ru", "crm_lead\n000", "email\nnone@x.ru")]
        [True, False, True, True]
        """
        parts = [("[^\\n]*" if id_type == "any" else re.escape(id_type)) + "\\n[^\\n]*?(?:" + pattern + ")"
                 for id_type, kind, pattern in self.blocklist_rows() if kind == "regex"]
        return "(?m)\\A(?:" + "|".join(parts) + ")" if parts else "\\b\\B"


@dataclass(frozen=True)
class TimesConfig:
    """The plausible range of event times: an event outside it is quarantined with the reason
    (docs/semantics.md, "Times")."""

    earliest: EntryDate = EntryDate("1990-01-01")
    """The earliest plausible event time, in UTC (a date is its midnight)."""
    ahead: Duration = Duration("1d")
    """How far after the run's start an event time may be."""

    def __post_init__(self) -> None:
        _typed(self, earliest=EntryDate, ahead=Duration)

    def bounds(self, run_started: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
        """``[earliest, latest)``, naive UTC, for a run started at ``run_started`` (naive UTC).

        >>> TimesConfig().bounds(dt.datetime(2026, 3, 1, 12))
        (datetime.datetime(1990, 1, 1, 0, 0), datetime.datetime(2026, 3, 2, 12, 0))
        """
        return self.earliest.at, run_started + dt.timedelta(seconds=self.ahead.seconds)


@dataclass(frozen=True)
class OutputConfig:
    dir: str = "build/out"
    format: str = "csv"
    """``csv``, ``parquet`` or ``json`` (an array of objects)."""
    csv_delimiter: str = ","
    csv_encoding: str = "utf-8"
    """``utf-8-sig`` writes a byte-order mark so Excel shows Cyrillic correctly."""
    excel: bool = False
    """The CSV dialect a Russian-locale Excel opens as it is: ``;``, decimal comma, UTF-8 with BOM."""
    pii: str = "mask"
    """``mask``: phone numbers and e-mail addresses quoted from input rows (the quarantine's raw
    text) are replaced by ``<phone>`` / ``<email>`` in exported files; ``clear`` keeps them."""
    precision: str = "rounded"
    """``rounded``: rates and shares in exported files have 4 significant digits (``0.6772``);
    ``full``: as computed. Counts and seconds are never rounded."""
    min_complete_share: float = 0.25
    """The report's headline conversion counts complete entries only (their window has closed);
    when fewer than this share of entries is complete, it says the figure is not yet meaningful."""

    @property
    def csv_dialect(self) -> tuple[str, str, bool]:
        """(delimiter, encoding, decimal comma) in force."""
        if self.excel:
            return ";", "utf-8-sig", True
        return self.csv_delimiter, self.csv_encoding, False


@dataclass(frozen=True)
class JourneyConfig:
    """Settings of the stage timeline (``sql/journey/``), whatever the funnel."""

    back_step_min_gap: Duration | None = None
    """A move to an earlier stage that comes less than this after the customer's previous staged
    event (the same session) is a ``revisit``, not a back-step; default: every such move is a back-step."""
    stock_inactivity: Duration | None = None
    """``stage_stock``: a customer with no staged event for this long leaves their stage's stock
    for the ``(lapsed)`` band until their next visit; default: the funnel's window."""

    def __post_init__(self) -> None:
        _typed(self, back_step_min_gap=Duration, stock_inactivity=Duration)


@dataclass(frozen=True)
class PredictConfig:
    """Next-stage probabilities, the outlook and the predictions (docs/semantics.md, "Predictions")."""

    window: Duration | None = None
    """How long after entering a stage visit the next visit may come; a visit younger than this is
    open, and predictions look this far ahead. Default: the funnel's window."""
    min_reference_visits: int = 20
    """A prediction by stage and time already spent needs this many past visits behind it; with
    fewer it falls back to the stage's overall rate."""

    def __post_init__(self) -> None:
        _typed(self, window=Duration)


@dataclass(frozen=True)
class AttributionConfig:
    """Crediting the goal's conversions to channels (docs/semantics.md, "Attribution")."""

    half_life: Duration = Duration("7d")
    """``time_decay``: a touchpoint this long before the conversion counts half as much as one at it."""

    def __post_init__(self) -> None:
        _typed(self, half_life=Duration)


@dataclass(frozen=True)
class SparkConfig:
    """Where and how ``engine: spark`` runs the steps (see :mod:`cjm_pipeline.engines.spark`)."""

    master: str = "local[*]"
    """Spark master URL: ``local[*]`` (this machine, every core), ``spark://host:7077``, ``yarn``, ``k8s://...``."""
    app_name: str = "cjm_pipeline"
    conf: dict[str, Any] = field(default_factory=dict)
    """Extra Spark settings, e.g. ``spark.driver.memory: 8g`` or ``spark.sql.shuffle.partitions: 64``."""
    tables: str = ""
    """Folder of the warehouse tables as Parquet (one folder per table). Default: next to the
    warehouse file, ``<warehouse name>_spark/``. On a cluster, a path every executor and the
    driver can read and write (a shared mount)."""


@dataclass(frozen=True)
class PipelineConfig:
    sources: list[SourceConfig]
    stages: list[StageConfig]
    warehouse: str = "build/cjm.duckdb"
    timezone: str = "UTC"
    base_dir: str = "."
    funnel: FunnelConfig = field(default_factory=FunnelConfig)
    funnels: list[NamedFunnelConfig] = field(default_factory=list)
    """More funnels (sub-ranges, other windows or modes), each with a ``name``."""
    output: OutputConfig = field(default_factory=OutputConfig)
    identity: IdentityConfig = field(default_factory=IdentityConfig)
    times: TimesConfig = field(default_factory=TimesConfig)
    """The plausible range of event times (``earliest``, ``ahead`` of the run)."""
    journey: JourneyConfig = field(default_factory=JourneyConfig)
    feedback: list[dict[str, Any]] = field(default_factory=list)
    """Survey answers and reviews: entries that match events like a stage rule, with ``score``,
    ``scale`` and optionally ``comment``, ``stage``, ``negative_max``, ``name`` (:mod:`.map_sections`)."""
    pains: list[dict[str, Any]] = field(default_factory=list)
    """Events that hurt (a missed call, a payment error): entries that match events like a stage
    rule, optionally with ``name`` and ``stage`` (:mod:`.map_sections`)."""
    predict: PredictConfig = field(default_factory=PredictConfig)
    attribution: AttributionConfig = field(default_factory=AttributionConfig)
    memory_limit: str | None = None
    """DuckDB ``memory_limit`` (e.g. ``4GB``); default DuckDB's own (80% of RAM)."""
    engine: str = "duckdb"
    """Where the steps run: ``duckdb`` (embedded, the default) or ``spark`` (see the ``spark`` section)."""
    spark: SparkConfig = field(default_factory=SparkConfig)
    # Filled in by load_config, not read from YAML:
    config_path: str = field(default="<dict>", metadata={"internal": True})
    config_sha256: str = field(default="", metadata={"internal": True})

    def resolve(self, path: str) -> Path:
        """An absolute path for a path written in the config."""
        p = Path(path).expanduser()
        return p if p.is_absolute() else (Path(self.base_dir) / p).resolve()

    @property
    def warehouse_path(self) -> Path:
        return self.resolve(self.warehouse)

    @property
    def output_dir(self) -> Path:
        return self.resolve(self.output.dir)

    @property
    def spark_tables_path(self) -> Path:
        """The folder of the Spark engine's Parquet tables."""
        if self.spark.tables:
            return self.resolve(self.spark.tables)
        return self.warehouse_path.with_name(self.warehouse_path.stem + "_spark")

    @property
    def predict_window_seconds(self) -> int:
        """The window of the predictions: ``predict.window``, else the funnel's."""
        return (self.predict.window or self.funnel.window).seconds

    @property
    def stage_names(self) -> list[str]:
        return [s.name for s in self.stages]

    def feedback_entries(self) -> list[FeedbackEntry]:
        """The ``feedback:`` entries, typed (rule, score column, scale, ...)."""
        return feedback_entries(self.feedback)

    def pain_entries(self) -> list[PainEntry]:
        """The ``pains:`` entries, typed (rule, name, stage)."""
        return pain_entries(self.pains)

    def named_funnel(self, name: str) -> NamedFunnelConfig:
        """One of ``funnels:`` by name, or a :class:`KeyError` listing the names."""
        for f in self.funnels:
            if f.name == name:
                return f
        raise KeyError(f"no funnel named {name!r} (funnels: {', '.join(f.name for f in self.funnels) or 'none'})")
