"""The errors cjm raises on purpose.

Every error a user can cause (a bad config, a bad input file, a failing step) is a
:class:`CjmError`; the CLI prints its message on one line and exits with code 1.
Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class CjmError(Exception):
    """Base class: a problem the user can fix, described in words."""


class ConfigError(CjmError):
    """One or more problems in a config file, reported together.

    >>> str(ConfigError("cfg.yaml", ["stages[0].name: required"]))
    'cfg.yaml: stages[0].name: required'
    """

    def __init__(self, file: str, problems: list[str]):
        self.file = file
        self.problems = list(problems)
        lines = [f"{file}: {p}" for p in self.problems]
        super().__init__("\n".join(lines))


class InputDataError(CjmError):
    """A source file cjm cannot read at all (rows it can read but not use are quarantined)."""

    def __init__(self, source: str, file: str, message: str):
        self.source, self.file, self.message = source, file, message
        super().__init__(f"source '{source}', file {file}: {message}")


class StepError(CjmError):
    """A pipeline step failed; rendered ``[step] message``."""

    def __init__(self, step: str, message: str):
        self.step = step
        super().__init__(f"[{step}] {message}")


class WarehouseError(CjmError):
    """The warehouse file is missing, locked, or lacks a table that was asked for."""
