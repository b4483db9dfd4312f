"""``cjm validate``: every problem of a config in one pass, and its stage rules against the data.

:func:`validate` loads the config with one more check, :func:`source_path_problems` (each
source's path exists and matches at least one file), so a missing input is reported with the
config's other problems rather than by the first ``cjm run``. Regular expressions are checked
with the engine the run uses (RE2, :func:`cjm_pipeline.db.regex_error`) while the config loads.

Then the stage rules are tested on events, as a run would (``rule_coverage``,
:mod:`cjm_pipeline.coverage`): on the warehouse's events when it exists (the config's current
rules, in a scratch in-memory database; the warehouse is only read), or, with ``data=True``, on
the input files, ingested into a scratch in-memory warehouse up to the ``events`` step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from . import db, ingest, pipeline
from .config import PipelineConfig, load_config, suggest
from .coverage import CoverageIssue, coverage_issues
from .errors import InputDataError
from .schema import FORMATS
from .stages import stage_tables
from .steps import BY_NAME, select_steps
from .warehouse import Warehouse

#: What the rules were tested on.
ON_WAREHOUSE = "warehouse"
ON_INPUTS = "inputs"


@dataclass
class Validation:
    """What :func:`validate` found: the config, and the rules' issues on ``checked_on`` events
    (``warehouse``, ``inputs``, or None when there were none to test them on)."""

    cfg: PipelineConfig
    checked_on: str | None = None
    events: int = 0
    issues: list[CoverageIssue] = field(default_factory=list)

    def lines(self, config_path: str | Path) -> list[str]:
        """What ``cjm validate`` prints: the config's summary, where the rules were tested, the warnings."""
        cfg = self.cfg
        out = [f"{config_path}: OK ({len(cfg.sources)} source(s), {len(cfg.stages)} stages: "
               f"{' > '.join(cfg.stage_names)}; funnel {cfg.funnel.mode}, window {cfg.funnel.window})"]
        if self.checked_on is None:
            return out + [f"  stage rules not tested: no warehouse at {cfg.warehouse_path} yet "
                          "(--data tests them on the input files)"]
        where = "the input files" if self.checked_on == ON_INPUTS else f"the warehouse {cfg.warehouse_path}"
        out.append(f"  stage rules tested on the {self.events:,} events of {where}: "
                   + (f"{len(self.issues)} warning(s)" if self.issues else "every rule and stage matches events"))
        return out + [f"  warning: {issue.message()}" for issue in self.issues]


#: The steps that test the stage rules on events: the rule matcher, then the coverage.
COVERAGE_STEPS = tuple(BY_NAME[n] for n in ("rule_keys", "event_signatures", "signature_keys", "rule_coverage"))


def source_path_problems(cfg: PipelineConfig) -> list[str]:
    """A problem for each source whose ``path`` matches no file (formats that read files only).

    >>> from cjm_pipeline.config import config_from_dict
    >>> cfg = config_from_dict({"sources": [{"name": "s", "format": "generic_events", "path": "/nowhere/x.csv"}],
    ...     "stages": [{"name": "a", "rules": [{"event_type": "a"}]}, {"name": "b", "rules": [{"event_type": "b"}]}]})
    >>> source_path_problems(cfg)
    ['sources[0].path: /nowhere/x.csv does not exist']
    """
    problems = []
    for i, src in enumerate(cfg.sources or []):
        spec = FORMATS.get(src.format) if src is not None else None
        if spec is None or not spec.reads_files or not src.path:
            continue  # (an unknown format or a missing path is reported by the config checks)
        try:
            ingest.discover(cfg, src)
            continue
        except InputDataError:
            pass
        path = cfg.resolve(src.path)
        where = f"sources[{i}].path"
        if any(ch in src.path for ch in "*?["):
            problems.append(f"{where}: {src.path!r} matches no file ({path})")
        elif path.is_dir():
            problems.append(f"{where}: the folder {path} holds no file ending in {', '.join(spec.suffixes)} "
                            f"(the endings of format '{src.format}')")
        elif not path.exists():
            siblings = [p.name for p in path.parent.iterdir()] if path.parent.is_dir() else []
            problems.append(f"{where}: {path} does not exist{suggest(path.name, siblings)}")
        else:
            problems.append(f"{where}: {path} is not a readable file")
    return problems


def validate(config_path: str | Path, *, data: bool = False) -> Validation:
    """Check a config (every problem at once, source paths included: :class:`ConfigError`), then
    test its stage rules on the warehouse's events, or with ``data`` on the input files."""
    cfg = load_config(config_path, checks=(source_path_problems,))
    result = Validation(cfg)
    if data:
        con = db.connect(":memory:", memory_limit=cfg.memory_limit)
        try:
            ingest.ingest_all(con, cfg, "validate")
            pipeline.write_config_tables(con, cfg)
            steps = select_steps("events") + COVERAGE_STEPS
            pipeline.run_steps(con, cfg, steps, params=pipeline.params_for(cfg))
            _check_rules(con, result, ON_INPUTS)
        finally:
            con.close()
    elif cfg.warehouse_path.exists():
        with Warehouse(cfg.warehouse_path).connect() as con:
            if db.table_exists(con, "events"):
                for name, frame in stage_tables(cfg).items():  # this config's rules, in memory only
                    db.write_table(con, name, frame)
                for step in COVERAGE_STEPS:
                    step.run(con, {})
                _check_rules(con, result, ON_WAREHOUSE)
    return result


def _check_rules(con, result: Validation, checked_on: str) -> None:
    result.checked_on = checked_on
    result.events = int(db.scalar(con, "select count(*) from events") or 0)
    result.issues = coverage_issues(con)
