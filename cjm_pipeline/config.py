"""The pipeline config: YAML in, frozen dataclasses out, every problem reported at once.

A config is read with :func:`load_config`. The YAML is checked against the dataclasses
below by one small generic helper (:func:`_build`): unknown keys get a difflib
suggestion, required keys and scalar types are checked, and each problem names the
dotted key path, e.g. ``stages[2].rules[0].sorce: unknown key; did you mean 'source'?``.
Then :func:`_check` runs the semantic checks (unique stage names, known formats, valid
time zone, window syntax, regex syntax, ...). All problems are raised together as one
:class:`~cjm_pipeline.errors.ConfigError`, before any data is touched.

Relative paths are resolved against ``base_dir``, itself relative to the config file's
folder (default: that folder), so ``cjm run -c /abs/path/config.yaml`` works from cron
in any working directory.

YAML 1.1 traps: ``no``/``on`` become booleans, ``0123`` an octal number and
``2024-01-01 10:00`` a datetime. Stage names must be strings, so the first two are
caught; quote phone numbers and codes in rules.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import hashlib
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import phonenumbers
import yaml

from .errors import ConfigError

#: Unified columns of the ``events`` table that a generic source may provide.
EVENT_COLUMNS = (
    "event_time", "event_type", "event_id", "channel",
    "utm_source", "utm_medium", "utm_campaign", "url", "revenue",
)
#: Identifier columns; each row needs at least one non-empty value.
IDENTIFIER_COLUMNS = (
    "customer_id", "anonymous_id", "user_id", "client_id", "email", "phone", "crm_contact_id",
)
CANONICAL_COLUMNS = EVENT_COLUMNS + IDENTIFIER_COLUMNS
REQUIRED_COLUMNS = ("event_time", "event_type")

#: Keys a stage rule may test directly; properties are written ``properties.<name>``.
RULE_COLUMNS = (
    "event_type", "channel", "utm_source", "utm_medium", "utm_campaign", "url",
    "source", "source_system",
)
PROPERTY_PREFIX = "properties."

#: Source formats; the ingest registry (``cjm_pipeline.ingest.formats``) adds its own.
BUILTIN_FORMATS = ("generic_events",)


def _fetches(format_name: str) -> bool:
    """True for a format that reads no files (a database query)."""
    from .ingest.formats import registry

    fmt = registry().get(format_name)
    return bool(fmt and fmt.fetch is not None)


def source_formats() -> dict[str, dict[str, Any]]:
    """Every format name with its options and defaults (``generic_events`` has none)."""
    from .ingest.formats import registry  # late import: ingest imports this module

    return {"generic_events": {}, **{name: dict(fmt.options) for name, fmt in registry().items()}}
FUNNEL_MODES = ("ordered", "strict", "furthest")
#: What the funnel counts: customers (default), CRM deals (leads) or sessions.
FUNNEL_UNITS = ("customer", "deal", "session")
BREAKDOWNS = ("first_channel", "last_channel", "entry_source", "cohort")
PERIODS = ("day", "week", "month")
CSV_ENCODINGS = ("utf-8", "utf-8-sig")
OUTPUT_FORMATS = ("csv", "parquet", "json")

_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d|w)\s*$")
_DURATION_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def parse_duration(text: str) -> int:
    """Seconds in a duration such as ``90d``, ``12h``, ``30m``, ``2w`` or ``45s``.

    >>> parse_duration("90d")
    7776000
    >>> parse_duration("30m")
    1800
    """
    m = _DURATION.match(str(text))
    if not m:
        raise ValueError(f"not a duration: {text!r}; write a number and a unit s, m, h, d or w, e.g. '90d'")
    return int(m.group(1)) * _DURATION_SECONDS[m.group(2)]


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

    window: str | None = None
    """Per-step window: the longest time from the previous funnel step's event to this stage's
    event (``30m``, ``60d``), on top of the funnel's window; ordered and strict funnels only."""

    def kpi_targets(self) -> list[tuple[str, float, str]]:
        """``(kpi, target, unit)`` for each configured KPI, durations in seconds, in :attr:`KPI_UNITS` order.

        >>> StageConfig("a", [], kpi={"median_time_to_next_max": "2d", "conversion_to_next_min": 0.4}).kpi_targets()
        [('conversion_to_next_min', 0.4, 'ratio'), ('median_time_to_next_max', 172800.0, 'seconds')]
        """
        return [(key, float(parse_duration(self.kpi[key]) if unit == "seconds" else self.kpi[key]), unit)
                for key, unit in self.KPI_UNITS.items() if key in self.kpi]


@dataclass(frozen=True)
class FunnelConfig:
    mode: str = "ordered"
    window: str = "90d"
    from_stage: str | None = None
    """First stage of the funnel (default: the first configured stage)."""
    to_stage: str | None = None
    """Last stage of the funnel (default: the last configured stage)."""
    entry_from: Any = None
    """Only entries (step-1 events) on or after this date/time count; conversions are followed past it."""
    entry_to: Any = None
    """Only entries before the end of this date (or before this date-time) count."""
    breakdowns: list[str] = field(default_factory=lambda: ["first_channel", "last_channel", "entry_source", "cohort"])
    """Funnel breakdowns: first_channel, last_channel, entry_source, cohort, or properties.<name>."""
    top_n: int = 20
    """Values per breakdown before the rest become '(other)'."""
    cohort_period: str = "week"
    """Entry cohort for the ``cohort`` breakdown: day, week or month."""
    trend_period: str = "week"
    """Entry period of ``funnel_trends``: day, week or month."""
    step_windows: dict[str, str] = field(default_factory=dict)
    """Per-step windows for this funnel, ``{stage: duration}``; they replace the stages' own ``window``."""
    unit: str = "customer"
    """What the funnel counts: ``customer``, ``deal`` (a CRM deal or lead with the touchpoints
    that lead to it) or ``session`` (a customer's events without a gap longer than ``session_gap``)."""
    session_gap: str = "30m"
    """Inactivity that ends a session (unit ``session``)."""

    @property
    def window_seconds(self) -> int:
        return parse_duration(self.window)

    @property
    def session_gap_seconds(self) -> int:
        return parse_duration(self.session_gap)

    def entry_bounds(self) -> tuple[dt.datetime | None, dt.datetime | None]:
        """The entry range as [start, end) datetimes; a date for ``entry_to`` includes that whole day.

        >>> FunnelConfig(entry_from="2025-01-01", entry_to="2025-01-31").entry_bounds()
        (datetime.datetime(2025, 1, 1, 0, 0), datetime.datetime(2025, 2, 1, 0, 0))
        """
        return _as_datetime(self.entry_from, end=False), _as_datetime(self.entry_to, end=True)


def _as_datetime(value: Any, *, end: bool) -> dt.datetime | None:
    """A config date or date-time (YAML may already have parsed it) as a naive datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, dt.date):
        day = dt.datetime.combine(value, dt.time())
        return day + dt.timedelta(days=1) if end else day
    text = str(value).strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return _as_datetime(dt.date.fromisoformat(text), end=end)
    return dt.datetime.fromisoformat(text).replace(tzinfo=None)


@dataclass(frozen=True)
class NamedFunnelConfig(FunnelConfig):
    """One more funnel in ``funnels:``, built beside the main one into schema ``funnel_<name>``."""

    name: str = ""


#: Identifier types a blocklist may name (plus ``any``), and the types hub detection caps.
IDENTIFIER_TYPES = (
    "phone", "email", "ym_client_id", "ga_client_id", "user_id", "crm_contact", "crm_lead", "crm_deal",
    "crm_company", "calltracking_session", "calltracking_visitor", "calltracking_client",
    "customer_id", "anonymous_id", "client_id",
)

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

    @property
    def csv_dialect(self) -> tuple[str, str, bool]:
        """(delimiter, encoding, decimal comma) in force."""
        if self.excel:
            return ";", "utf-8-sig", True
        return self.csv_delimiter, self.csv_encoding, False


ENGINES = ("duckdb", "spark")


@dataclass(frozen=True)
class SparkConfig:
    """Where and how ``engine: spark`` runs the steps (see :mod:`cjm_pipeline.spark`)."""

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
    def stage_names(self) -> list[str]:
        return [s.name for s in self.stages]


# --------------------------------------------------------------------------- loading


def load_config(path: str | Path) -> PipelineConfig:
    """Read and validate a YAML config file.

    Raises :class:`ConfigError` listing every problem found, each with its key path.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(str(path), ["file not found"])
    raw_bytes = path.read_bytes()
    try:
        data = yaml.safe_load(raw_bytes.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ConfigError(str(path), ["not UTF-8 text; save the config as UTF-8"]) from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ConfigError(str(path), [f"{where}invalid YAML: {getattr(e, 'problem', e)}"]) from None
    base = path.resolve().parent
    return config_from_dict(data, file=str(path), base_dir=base, sha256=hashlib.sha256(raw_bytes).hexdigest())


def config_from_dict(data: Any, *, file: str = "<dict>", base_dir: str | Path = ".", sha256: str = "") -> PipelineConfig:
    """Validate a config given as a dict (as parsed from YAML). Used by tests and notebooks."""
    problems: list[str] = []
    if not isinstance(data, dict):
        raise ConfigError(file, ["the config must be a mapping of keys (warehouse, sources, stages, ...)"])
    data = dict(data)
    data["base_dir"] = str((Path(base_dir) / str(data.get("base_dir", "."))).resolve())
    if not sha256:
        sha256 = hashlib.sha256(repr(sorted(data.items(), key=str)).encode()).hexdigest()
    cfg = _build(PipelineConfig, data, "", problems)
    if cfg is not None and not problems:
        problems.extend(_check(cfg))
    if problems:
        raise ConfigError(file, problems)
    return dataclasses.replace(cfg, config_path=file, config_sha256=sha256)


def _suggest(word: str, choices: typing.Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _type_name(tp: Any) -> str:
    return {str: "a string", int: "a whole number", bool: "true or false", float: "a number"}.get(tp, str(tp))


def _build(tp: Any, value: Any, where: str, problems: list[str]) -> Any:
    """Turn parsed YAML into ``tp``, appending problems (with key paths) instead of raising."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return None if value is None else _build(args[0], value, where, problems)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            problems.append(f"{where or 'config'}: expected a mapping of keys, got {value!r}")
            return None
        hints = typing.get_type_hints(tp)
        fields = {f.name: f for f in dataclasses.fields(tp) if not f.metadata.get("internal")}
        kwargs = {}
        for key, item in value.items():
            if key not in fields:
                problems.append(f"{_join(where, str(key))}: unknown key{_suggest(str(key), fields)}"
                                f" (valid keys: {', '.join(fields)})")
                continue
            kwargs[key] = _build(hints[key], item, _join(where, key), problems)
        for name, f in fields.items():
            no_default = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            if no_default and name not in value:
                problems.append(f"{_join(where, name)}: required")
                kwargs[name] = None
        return tp(**kwargs)
    if origin is list:
        (item_tp,) = typing.get_args(tp)
        if not isinstance(value, list):
            problems.append(f"{where}: expected a list, got {value!r}")
            return []
        return [_build(item_tp, v, f"{where}[{i}]", problems) for i, v in enumerate(value)]
    if origin is dict:
        key_tp, val_tp = typing.get_args(tp)
        if not isinstance(value, dict):
            problems.append(f"{where}: expected a mapping, got {value!r}")
            return {}
        if val_tp is Any:
            return dict(value)
        return {str(k): _build(val_tp, v, f"{where}.{k}", problems) for k, v in value.items()}
    if tp in (str, int, float, bool):
        ok = isinstance(value, tp) and not (tp is int and isinstance(value, bool))
        if tp is float and isinstance(value, int) and not isinstance(value, bool):
            ok = True
        if not ok:
            hint = " (YAML reads yes/no/on/off as booleans: quote it)" if isinstance(value, bool) else ""
            problems.append(f"{where}: expected {_type_name(tp)}, got {value!r}{hint}")
        return value
    return value


# --------------------------------------------------------------------------- semantic checks


def _check_identity(ident: IdentityConfig) -> list[str]:
    problems = []
    valid = ("any", *IDENTIFIER_TYPES)
    for id_type, values in ident.blocklist.items():
        if id_type not in valid:
            problems.append(f"identity.blocklist.{id_type}: unknown identifier type{_suggest(id_type, valid)}"
                            f" (valid: {', '.join(valid)})")
        for v in values if isinstance(values, list) else [values]:
            if isinstance(v, str) and v.startswith("re:"):
                try:
                    re.compile(v[3:])
                except re.error as e:
                    problems.append(f"identity.blocklist.{id_type}: invalid regular expression {v[3:]!r}: {e}")
    for t in ident.hub_types:
        if t not in IDENTIFIER_TYPES:
            problems.append(f"identity.hub_types: unknown identifier type {t!r}{_suggest(t, IDENTIFIER_TYPES)}")
    if ident.pii not in ("clear", "hash"):
        problems.append(f"identity.pii: {ident.pii!r}{_suggest(str(ident.pii), ('clear', 'hash'))} (valid: clear, hash)")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", ident.pii_salt_env or ""):
        problems.append(f"identity.pii_salt_env: {ident.pii_salt_env!r} is not an environment variable name")
    for key in ("max_contacts_per_identifier", "flag_component_size", "max_iterations"):
        value = getattr(ident, key)
        if isinstance(value, int) and value < 1:
            problems.append(f"identity.{key}: must be at least 1, got {value}")
    return problems


def _check(cfg: PipelineConfig) -> list[str]:
    problems: list[str] = []
    problems += _check_identity(cfg.identity)
    problems += _check_timezone(cfg.timezone, "timezone")
    if cfg.memory_limit is not None and not re.match(r"^\s*\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$", cfg.memory_limit, re.I):
        problems.append(f"memory_limit: {cfg.memory_limit!r} is not a size; write e.g. '4GB' or '512MB'")

    if cfg.engine not in ENGINES:
        problems.append(f"engine: unknown engine {cfg.engine!r}{_suggest(str(cfg.engine), ENGINES)}"
                        f" (valid: {', '.join(ENGINES)})")
    if cfg.engine == "spark" and not str(cfg.spark.master).strip():
        problems.append("spark.master: empty; write e.g. 'local[*]' or 'spark://host:7077'")
    if not cfg.sources:
        problems.append("sources: at least one source is required")
    seen_sources: set[str] = set()
    formats = source_formats()
    for i, src in enumerate(cfg.sources):
        where = f"sources[{i}]"
        if not _NAME.match(src.name or ""):
            problems.append(f"{where}.name: {src.name!r} must be letters, digits and underscores, starting with a letter")
        elif src.name in seen_sources:
            problems.append(f"{where}.name: duplicate source name '{src.name}'")
        seen_sources.add(src.name)
        if src.format not in formats:
            problems.append(f"{where}.format: unknown format {src.format!r}{_suggest(src.format, formats)}"
                            f" (valid formats: {', '.join(formats)})")
        else:
            valid = formats[src.format]
            for key in src.options:
                if key not in valid:
                    problems.append(f"{where}.options.{key}: unknown option for format '{src.format}'"
                                    f"{_suggest(str(key), valid)}"
                                    f" (valid options: {', '.join(valid) if valid else 'none'})")
        if not src.path and src.format in formats and not _fetches(src.format):
            problems.append(f"{where}.path: required (a file, a glob or a folder)")
        if src.phone_region not in phonenumbers.SUPPORTED_REGIONS:
            problems.append(f"{where}.phone_region: {src.phone_region!r} is not a region code"
                            f"{_suggest(str(src.phone_region).upper(), sorted(phonenumbers.SUPPORTED_REGIONS))} (e.g. RU, KZ, BY)")
        if src.timezone is not None:
            problems += _check_timezone(src.timezone, f"{where}.timezone")
        for header, target in src.columns.items():
            if target not in CANONICAL_COLUMNS:
                problems.append(f"{where}.columns.{header}: {target!r} is not a unified column"
                                f"{_suggest(target, CANONICAL_COLUMNS)} (valid: {', '.join(CANONICAL_COLUMNS)})")
        targets = list(src.columns.values())
        for dup in sorted({t for t in targets if targets.count(t) > 1}):
            problems.append(f"{where}.columns: several file columns are mapped to '{dup}'")
        if src.encoding != "auto":
            import codecs
            try:
                codecs.lookup(src.encoding)
            except LookupError:
                problems.append(f"{where}.encoding: unknown encoding {src.encoding!r} (e.g. auto, utf-8, cp1251)")
        if src.delimiter != "auto" and len(src.delimiter.encode("utf-8").decode("unicode_escape")) != 1:
            problems.append(f"{where}.delimiter: {src.delimiter!r} must be one character or 'auto'")

    if len(cfg.stages) < 2:
        problems.append("stages: at least two stages are needed for a journey")
    seen_stages: set[str] = set()
    for i, stage in enumerate(cfg.stages):
        where = f"stages[{i}]"
        if not isinstance(stage.name, str) or not stage.name.strip():
            problems.append(f"{where}.name: a non-empty string is required")
        elif stage.name in seen_stages:
            problems.append(f"{where}.name: duplicate stage name '{stage.name}'")
        elif any(c in stage.name for c in ">,\n"):
            problems.append(f"{where}.name: {stage.name!r} may not contain '>', ',' or a line break (they separate stage paths)")
        seen_stages.add(stage.name)
        if not stage.rules:
            problems.append(f"{where}.rules: at least one rule is required")
        for j, rule in enumerate(stage.rules or []):
            problems += check_rule(rule, f"{where}.rules[{j}]")
        problems += check_stage_kpi(stage.kpi, f"{where}.kpi", is_last=i == len(cfg.stages) - 1)
        if stage.window is not None:
            problems += _check_positive_duration(stage.window, f"{where}.window")

    problems += check_funnel(cfg.funnel)
    if len(cfg.stages) >= 2:
        problems += check_funnel_stages(cfg.funnel, cfg.stage_names)
    seen_funnels: set[str] = set()
    for i, named in enumerate(cfg.funnels):
        where = f"funnels[{i}]."
        if not re.fullmatch(r"[a-z][a-z0-9_]*", named.name or ""):
            problems.append(f"{where}name: {named.name!r} must be lower-case letters, digits and underscores, "
                            "starting with a letter (it names the schema funnel_<name> and an output folder)")
        elif named.name in seen_funnels:
            problems.append(f"{where}name: duplicate funnel name '{named.name}'")
        seen_funnels.add(named.name)
        problems += check_funnel(named, where)
        if len(cfg.stages) >= 2:
            problems += check_funnel_stages(named, cfg.stage_names, where)
    if cfg.output.csv_encoding not in CSV_ENCODINGS:
        problems.append(f"output.csv_encoding: {cfg.output.csv_encoding!r}{_suggest(cfg.output.csv_encoding, CSV_ENCODINGS)}"
                        f" (valid: {', '.join(CSV_ENCODINGS)})")
    if cfg.output.pii not in ("mask", "clear"):
        problems.append(f"output.pii: {cfg.output.pii!r} is not valid (mask or clear)")
    if cfg.output.format not in OUTPUT_FORMATS:
        problems.append(f"output.format: {cfg.output.format!r}{_suggest(cfg.output.format, OUTPUT_FORMATS)}"
                        f" (valid: {', '.join(OUTPUT_FORMATS)})")
    if len(cfg.output.csv_delimiter) != 1:
        problems.append(f"output.csv_delimiter: {cfg.output.csv_delimiter!r} must be one character")
    return problems


def check_funnel(funnel: FunnelConfig, where: str = "funnel.") -> list[str]:
    """Problems with the funnel settings; ``where`` prefixes the key names (``--`` for CLI options)."""
    problems = []
    if funnel.mode not in FUNNEL_MODES:
        problems.append(f"{where}mode: unknown mode {funnel.mode!r}{_suggest(funnel.mode, FUNNEL_MODES)}"
                        f" (valid modes: {', '.join(FUNNEL_MODES)})")
    try:
        if parse_duration(funnel.window) <= 0:
            problems.append(f"{where}window: must be longer than zero")
    except ValueError as e:
        problems.append(f"{where}window: {e}")
    bounds = {}
    for key, end in (("entry_from", False), ("entry_to", True)):
        try:
            bounds[key] = _as_datetime(getattr(funnel, key), end=end)
        except (ValueError, TypeError):
            problems.append(f"{where}{key}: {getattr(funnel, key)!r} is not a date; write e.g. '2025-01-31' or '2025-01-31 18:00'")
    lo, hi = bounds.get("entry_from"), bounds.get("entry_to")
    if lo and hi and lo >= hi:
        problems.append(f"{where}entry_to: the entry range is empty ({funnel.entry_from} .. {funnel.entry_to})")
    for b in funnel.breakdowns:
        if b not in BREAKDOWNS and not (b.startswith(PROPERTY_PREFIX) and len(b) > len(PROPERTY_PREFIX)):
            problems.append(f"{where}breakdowns: unknown breakdown {b!r}{_suggest(b, BREAKDOWNS)}"
                            f" (valid: {', '.join(BREAKDOWNS)}, or properties.<name>)")
    if funnel.top_n < 1:
        problems.append(f"{where}top_n: must be at least 1")
    if funnel.unit not in FUNNEL_UNITS:
        problems.append(f"{where}unit: {funnel.unit!r}{_suggest(str(funnel.unit), FUNNEL_UNITS)}"
                        f" (valid: {', '.join(FUNNEL_UNITS)})")
    problems += _check_positive_duration(funnel.session_gap, f"{where}session_gap")
    for stage, duration in funnel.step_windows.items():
        problems += _check_positive_duration(duration, f"{where}step_windows.{stage}")
    if funnel.step_windows and funnel.mode == "furthest":
        problems.append(f"{where}step_windows: per-step windows need an order of steps; the furthest mode has none "
                        "(use mode ordered or strict)")
    if funnel.trend_period not in PERIODS:
        problems.append(f"{where}trend_period: {funnel.trend_period!r}{_suggest(funnel.trend_period, PERIODS)}"
                        f" (valid: {', '.join(PERIODS)})")
    if funnel.cohort_period not in PERIODS:
        problems.append(f"{where}cohort_period: {funnel.cohort_period!r}{_suggest(funnel.cohort_period, PERIODS)}"
                        f" (valid: {', '.join(PERIODS)})")
    return problems


def _check_positive_duration(value: Any, where: str) -> list[str]:
    try:
        if parse_duration(value) <= 0:
            return [f"{where}: must be longer than zero"]
    except (ValueError, TypeError) as e:
        return [f"{where}: {e}"]
    return []


def check_funnel_stages(funnel: FunnelConfig, stage_names: list[str], where: str = "funnel.") -> list[str]:
    """The funnel's stage sub-range and step windows name known stages, in order, with at least two steps."""
    problems = []
    for name in funnel.step_windows:
        if name not in stage_names:
            problems.append(f"{where}step_windows.{name}: unknown stage{_suggest(str(name), stage_names)}"
                            f" (stages: {', '.join(stage_names)})")
    for key in ("from_stage", "to_stage"):
        name = getattr(funnel, key)
        if name is not None and name not in stage_names:
            problems.append(f"{where}{key}: unknown stage {name!r}{_suggest(str(name), stage_names)}"
                            f" (stages: {', '.join(stage_names)})")
    if not problems:
        lo = stage_names.index(funnel.from_stage) if funnel.from_stage else 0
        hi = stage_names.index(funnel.to_stage) if funnel.to_stage else len(stage_names) - 1
        if hi - lo < 1:
            problems.append(f"{where.rstrip('.')}: from_stage {stage_names[lo]!r} must come before to_stage {stage_names[hi]!r}"
                            " in the stage list (a funnel needs at least two steps)")
    return problems


def check_stage_kpi(kpi: dict[str, Any], where: str, *, is_last: bool = False) -> list[str]:
    """Problems with one stage's ``kpi`` mapping: known keys, fractions in 0..1, durations.

    >>> check_stage_kpi({"conversion_to_next": 0.5, "drop_off_rate_max": 35}, "stages[0].kpi")
    ["stages[0].kpi.conversion_to_next: unknown key; did you mean 'conversion_to_next_min'? (valid keys: conversion_to_next_min, median_time_to_next_max, drop_off_rate_max)", 'stages[0].kpi.drop_off_rate_max: must be between 0 and 1, got 35 (a fraction; for a percentage write 0.35 for 35%)']
    """
    problems = []
    units = StageConfig.KPI_UNITS
    for key, value in (kpi or {}).items():
        key, at = str(key), f"{where}.{key}"
        if key not in units:
            problems.append(f"{at}: unknown key{_suggest(key, units)} (valid keys: {', '.join(units)})")
            continue
        if is_last:
            problems.append(f"{at}: the last stage has no next stage, so conversion, drop-off and time "
                            "to the next stage are undefined there; set this KPI on an earlier stage")
        elif units[key] == "seconds":
            try:
                if parse_duration(value) <= 0:
                    problems.append(f"{at}: must be longer than zero")
            except ValueError as e:
                problems.append(f"{at}: {e}")
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            problems.append(f"{at}: expected a number between 0 and 1, got {value!r}")
        elif not 0 <= value <= 1:
            hint = f" (a fraction; for a percentage write {value / 100:g} for {value:g}%)" if 1 < value <= 100 else ""
            problems.append(f"{at}: must be between 0 and 1, got {value!r}{hint}")
    return problems


def _check_timezone(name: str, where: str) -> list[str]:
    try:
        ZoneInfo(name)
        return []
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        return [f"{where}: unknown time zone {name!r}{_suggest(str(name), available_timezones())}"
                " (use an IANA name such as 'Europe/Moscow' or 'UTC')"]


def check_rule(rule: Any, where: str) -> list[str]:
    """Problems with one stage rule (a mapping of key -> value, list of values, glob or ``re:`` regex)."""
    if not isinstance(rule, dict) or not rule:
        return [f"{where}: a rule is a non-empty mapping such as {{event_type: visit}}"]
    problems = []
    for key, value in rule.items():
        key = str(key)
        if not (key in RULE_COLUMNS or (key.startswith(PROPERTY_PREFIX) and len(key) > len(PROPERTY_PREFIX))):
            problems.append(f"{where}.{key}: unknown key{_suggest(key, RULE_COLUMNS)}"
                            f" (valid: {', '.join(RULE_COLUMNS)}, or properties.<name> for any other column)")
            continue
        values = value if isinstance(value, list) else [value]
        if not values:
            problems.append(f"{where}.{key}: an empty list matches nothing")
        for v in values:
            if v is None or isinstance(v, (dict, list)):
                problems.append(f"{where}.{key}: {v!r} is not a value to match; write a string, a list of strings, "
                                "a glob ('*/catalog/*') or a regex ('re:^/product/')")
            elif isinstance(v, str) and v.startswith("re:"):
                try:
                    re.compile(v[3:])
                except re.error as e:
                    problems.append(f"{where}.{key}: invalid regular expression {v[3:]!r}: {e}")
    return problems


def rule_conditions(rule: dict[str, Any]) -> list[tuple[str, str, str]]:
    """``(key, match_kind, pattern)`` rows for one rule; several rows of one key are alternatives.

    >>> rule_conditions({"event_type": ["visit", "page_view"], "url": "*/catalog/*"})
    [('event_type', 'exact', 'visit'), ('event_type', 'exact', 'page_view'), ('url', 'glob', '*/catalog/*')]
    """
    rows = []
    for key, value in rule.items():
        for v in value if isinstance(value, list) else [value]:
            text = _scalar_text(v)
            if text.startswith("re:"):
                rows.append((str(key), "regex", text[3:]))
            elif "*" in text:
                rows.append((str(key), "glob", text))
            else:
                rows.append((str(key), "exact", text))
    return rows


def _scalar_text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)
