"""Reading a config: YAML in, typed frozen dataclasses out, every problem of the file at once.

:func:`load_config` reads the YAML; :func:`config_from_dict` builds the dataclasses of
:mod:`.model` with one small generic helper (:func:`_build`): unknown keys get a difflib
suggestion, required keys and scalar types are checked, durations and dates are parsed,
and each problem names its dotted key path, e.g.
``stages[2].rules[0].sorce: unknown key; did you mean 'source'?``. A value that cannot be
used is replaced by its default, so the semantic checks (:mod:`.checks`) still run on the
rest of the file: one pass reports every problem, never one at a time.

Relative paths are resolved against ``base_dir``, itself relative to the config file's
folder (default: that folder), so ``cjm run -c /abs/path/config.yaml`` works from cron
in any working directory.

YAML 1.1 traps: ``no``/``on`` become booleans, ``0123`` an octal number and
``2024-01-01 10:00`` a datetime. Stage names must be strings, so the first two are
caught; quote phone numbers and codes in rules. A file may use at most
:data:`MAX_ALIASES` YAML aliases and expand through them to at most :data:`MAX_VALUES`
values, and values quoted in messages are cut short (without expanding them), so a
"billion laughs" file (nine aliases of nine aliases of ...) is refused in a line instead of
expanding in memory.
"""

from __future__ import annotations

import dataclasses
import hashlib
import reprlib
import types
import typing
from pathlib import Path
from typing import Any, Callable

import yaml

from ..errors import ConfigError
from ..units import Duration
from .checks import check_config, check_funnel, suggest
from .map_checks import check_map_sections
from .model import EntryDate, FunnelConfig, PipelineConfig

#: YAML aliases (``*name``) allowed in one config file.
MAX_ALIASES = 100
_TYPED = (Duration, EntryDate)


def load_config(path: str | Path, *, checks: tuple[Callable[[PipelineConfig], list[str]], ...] = ()) -> PipelineConfig:
    """Read and validate a YAML config file.

    Raises :class:`ConfigError` listing every problem found, each with its key path; ``checks``
    add problems of their own to the same list (``cjm validate``: the source paths match files).
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(str(path), ["file not found"])
    raw_bytes = path.read_bytes()
    try:
        data = _safe_load(raw_bytes.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ConfigError(str(path), ["not UTF-8 text; save the config as UTF-8"]) from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ConfigError(str(path), [f"{where}invalid YAML: {getattr(e, 'problem', None) or e}"]) from None
    base = path.resolve().parent
    return config_from_dict(data, file=str(path), base_dir=base, sha256=hashlib.sha256(raw_bytes).hexdigest(),
                            checks=checks)


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, counting aliases."""

    aliases = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise yaml.YAMLError(f"more than {MAX_ALIASES} aliases (*name); write the values out")
        return super().compose_node(parent, index)


#: Values (scalars, lists, mappings) a config may expand to through its aliases.
MAX_VALUES = 100_000


def _safe_load(text: str) -> Any:
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_expansion(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _check_expansion(root: yaml.Node) -> None:
    """Refuse a document whose aliases expand it beyond :data:`MAX_VALUES` values (or into itself),
    counting each node once (the composed document is a graph: an alias is a shared node)."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        children = ([n for pair in node.value for n in pair] if isinstance(node, yaml.MappingNode)
                    else list(node.value) if isinstance(node, yaml.SequenceNode) else [])
        if children_done:
            open_nodes.discard(id(node))
            sizes[id(node)] = 1 + sum(sizes[id(c)] for c in children)
            if sizes[id(node)] > MAX_VALUES:
                raise yaml.YAMLError(f"its aliases (*name) expand it to more than {MAX_VALUES:,} values "
                                     "(a \"billion laughs\" file?); write the values out")
            continue
        if id(node) in sizes:
            continue
        open_nodes.add(id(node))
        stack.append((node, True))
        for child in children:
            if id(child) in open_nodes:
                raise yaml.YAMLError("an alias (*name) refers to a value that contains it; write the values out")
            if id(child) not in sizes:
                stack.append((child, False))


def config_from_dict(data: Any, *, file: str = "<dict>", base_dir: str | Path = ".", sha256: str = "",
                     checks: tuple[Callable[[PipelineConfig], list[str]], ...] = ()) -> PipelineConfig:
    """Validate a config given as a dict (as parsed from YAML). Used by tests and notebooks.

    ``checks`` run on the config as built (a value that could not be used replaced by its
    default) and add their problems to the others, so one pass reports everything."""
    problems: list[str] = []
    if not isinstance(data, dict):
        raise ConfigError(file, ["the config must be a mapping of keys (warehouse, sources, stages, ...)"])
    data = dict(data)
    data["base_dir"] = str((Path(base_dir) / str(data.get("base_dir", "."))).resolve())
    if not sha256:
        sha256 = hashlib.sha256(repr(sorted(data.items(), key=str)).encode()).hexdigest()
    cfg = _build(PipelineConfig, data, "", problems)
    if cfg is not None:
        # a key path the structure already complained about is not reported again by the checks
        reported = {p.split(":", 1)[0] for p in problems}
        stage_names = [s.name for s in cfg.stages or [] if s is not None]
        found = check_config(cfg) + check_map_sections({"feedback": cfg.feedback, "pains": cfg.pains}, stage_names)
        problems += [p for p in found if p.split(":", 1)[0] not in reported]
        for check in checks:
            problems += check(cfg)
    if problems:
        raise ConfigError(file, problems)
    return dataclasses.replace(cfg, config_path=file, config_sha256=sha256)


def funnel_with(base: FunnelConfig, *, where: str = "--", **overrides: Any) -> FunnelConfig:
    """``base`` with the given settings replaced (None keeps the base's), typed and checked as
    at load; problems are raised together, their keys prefixed by ``where`` (``--`` for options).

    >>> funnel_with(FunnelConfig(), window="30d", mode=None).window.seconds
    2592000
    >>> funnel_with(FunnelConfig(), window="30 days")
    Traceback (most recent call last):
    ...
    cjm_pipeline.errors.ConfigError: funnel options: --window: not a duration: '30 days'; write a number and a unit s, m, h, d or w, e.g. '90d'
    """
    problems: list[str] = []
    values = {f.name: getattr(base, f.name) for f in dataclasses.fields(base)}
    values.update({k: v for k, v in overrides.items() if v is not None})
    hints = typing.get_type_hints(type(base))
    typed = {k: _build(hints[k], v, f"{where}{k}", problems) if k in overrides and overrides[k] is not None else v
             for k, v in values.items()}
    funnel = type(base)(**{k: v for k, v in typed.items() if v is not None or k in overrides})
    problems += [p for p in check_funnel(funnel, where=where) if p.split(":", 1)[0] not in
                 {q.split(":", 1)[0] for q in problems}]
    if problems:
        raise ConfigError("funnel options", problems)
    return funnel


def short(value: Any, limit: int = 80) -> str:
    """``repr(value)``, cut to ``limit`` characters (values quoted in messages stay one short line).

    >>> short([[1, 2]] * 50, 20)
    '[[1, 2], [1, 2], [1…'
    """
    text = _SHORT.repr(value)  # reprlib: nested and long values are elided, never expanded in full
    return text if len(text) <= limit else text[: limit - 1] + "…"


_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxlist, _SHORT.maxtuple, _SHORT.maxdict, _SHORT.maxset = 4, 8, 8, 8, 8
_SHORT.maxstring, _SHORT.maxother, _SHORT.maxlong = 200, 200, 200


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _type_name(tp: Any) -> str:
    return {str: "a string", int: "a whole number", bool: "true or false", float: "a number"}.get(tp, str(tp))


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None


def _build(tp: Any, value: Any, where: str, problems: list[str]) -> Any:
    """Turn parsed YAML into ``tp``, appending problems (with key paths) instead of raising.

    A value that cannot be turned into ``tp`` is reported and replaced by None (the caller
    puts the field's default there), so building goes on and every problem is found.
    """
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return None if value is None else _build(args[0], value, where, problems)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            problems.append(f"{where or 'config'}: expected a mapping of keys, got {short(value)}")
            return None
        hints = typing.get_type_hints(tp)
        fields = {f.name: f for f in dataclasses.fields(tp) if not f.metadata.get("internal")}
        kwargs = {}
        for key, item in value.items():
            if key not in fields:
                problems.append(f"{_join(where, str(key))}: unknown key{suggest(str(key), fields)}"
                                f" (valid keys: {', '.join(fields)})")
                continue
            built = _build(hints[key], item, _join(where, key), problems)
            kwargs[key] = built if built is not None or item is None else _default(fields[key])
        for name, f in fields.items():
            no_default = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            if no_default and name not in value:
                problems.append(f"{_join(where, name)}: required")
                kwargs[name] = None
        return tp(**kwargs)
    if origin is list:
        (item_tp,) = typing.get_args(tp)
        if not isinstance(value, list):
            problems.append(f"{where}: expected a list, got {short(value)}")
            return None
        # (an item that could not be built stays None, so the checks still name items by their index)
        return [_build(item_tp, v, f"{where}[{i}]", problems) for i, v in enumerate(value)]
    if origin is dict:
        key_tp, val_tp = typing.get_args(tp)
        if not isinstance(value, dict):
            problems.append(f"{where}: expected a mapping, got {short(value)}")
            return None
        if val_tp is Any:
            return dict(value)
        built = {str(k): _build(val_tp, v, _join(where, str(k)), problems) for k, v in value.items()}
        return {k: v for k, v in built.items() if v is not None}
    if tp in _TYPED:
        if value == "":
            return None
        if tp is Duration and not isinstance(value, str):
            problems.append(f"{where}: expected a duration such as '90d' or '30m', got {short(value)}")
            return None
        try:
            return tp(value)
        except ValueError as e:
            problems.append(f"{where}: {e}")
            return None
    if tp in (str, int, float, bool):
        ok = isinstance(value, tp) and not (tp is int and isinstance(value, bool))
        if tp is float and isinstance(value, int) and not isinstance(value, bool):
            ok = True
        if not ok:
            hint = " (YAML reads yes/no/on/off as booleans: quote it)" if isinstance(value, bool) else ""
            problems.append(f"{where}: expected {_type_name(tp)}, got {short(value)}{hint}")
            return None
        return value
    return value
