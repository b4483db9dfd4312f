"""Rewrites of parsed DuckDB SQL before sqlglot writes it as Spark SQL.

sqlglot translates the "boring core" faithfully (joins, windows, FILTER, GROUP BY ALL,
intervals) but passes some DuckDB functions through unchanged or maps them to a Spark
function of the same name and different meaning, without a warning
(README, "Engines: DuckDB or Apache Spark"). Each rewrite here takes one such idiom, as the
``sql/`` files use it, to a Spark expression with DuckDB's meaning. Each is a function of one
node, applied by :func:`cjm_pipeline.engines.spark.translate` with ``Expression.transform``, and each
has a case in ``tests/test_spark_translate.py``.
"""

from __future__ import annotations

from sqlglot import exp


def _fn(name: str, *args: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this=name, expressions=list(args))


def quantile(node: exp.Expression) -> exp.Expression:
    """DuckDB ``quantile_cont(x, q)`` / ``median(x)`` interpolate between rows; sqlglot writes
    ``PERCENTILE_CONT(x, q)``, which Spark rejects. Spark's ``percentile(x, q)`` interpolates
    the same way."""
    if isinstance(node, exp.PercentileCont) and node.expression is not None and not isinstance(
            node.parent, exp.WithinGroup):
        return _fn("percentile", node.this, node.expression)
    if isinstance(node, exp.Median):
        return _fn("percentile", node.this, exp.Literal.number(0.5))
    return node


def _spark(text: str) -> exp.Expression:
    """Parse a Spark SQL expression (built from the Spark text of translated parts)."""
    import sqlglot
    return sqlglot.parse_one(text, read="spark")


def cte_hints(node: exp.Expression) -> exp.Expression:
    """``WITH x AS [NOT] MATERIALIZED (...)``: a DuckDB planner hint Spark cannot parse; dropped."""
    if isinstance(node, exp.CTE) and node.args.get("materialized") is not None:
        node.set("materialized", None)
    return node


def to_seconds(node: exp.Expression) -> exp.Expression:
    """DuckDB ``to_seconds(n)`` (an interval of n seconds) passes through untranslated; Spark's
    ``make_dt_interval(0, 0, 0, n)`` is the same day-time interval."""
    if isinstance(node, exp.Anonymous) and str(node.this).lower() == "to_seconds":
        return _fn("make_dt_interval", exp.Literal.number(0), exp.Literal.number(0), exp.Literal.number(0),
                   node.expressions[0])
    return node


def epoch(node: exp.Expression) -> exp.Expression:
    """DuckDB ``epoch(ts)`` keeps the fraction of a second; sqlglot's ``UNIX_TIMESTAMP`` drops it.
    ``unix_micros(ts) / 1e6`` keeps it (the session time zone is UTC, as timestamps are stored)."""
    if isinstance(node, exp.TimeToUnix):
        return _spark(f"UNIX_MICROS({node.this.sql('spark')}) / 1E6")
    return node


def format_string(node: exp.Expression) -> exp.Expression:
    """DuckDB ``format('{} is {:.1f}%', ...)`` (fmt placeholders) becomes ``FORMAT_STRING`` with the
    template unchanged, which Java's formatter rejects: ``{}`` becomes ``%s``, ``{:.Nf}`` becomes
    ``%.Nf`` with its argument cast to double (Java's ``%f`` refuses Spark's decimals), ``%`` is doubled,
    and a NULL argument makes the result NULL, as in DuckDB."""
    if isinstance(node, exp.Format) and isinstance(node.this, exp.Literal) and node.this.is_string:
        import re
        pieces = re.split(r"(\{\}|\{:\.\d+f\})", node.this.this)
        template, args, i = "", [], 0
        for piece in pieces:
            if piece == "{}" or re.fullmatch(r"\{:\.\d+f\}", piece):
                arg = node.expressions[i]
                i += 1
                if piece == "{}":
                    template += "%s"
                    args.append(arg)
                else:
                    template += "%" + piece[2:-1]
                    args.append(exp.cast(arg, exp.DataType.build("DOUBLE")))
            elif "{" in piece or "}" in piece:
                raise ValueError(f"format template {node.this.this!r}: only {{}} and {{:.Nf}} have a Spark form")
            else:
                template += piece.replace("%", "%%")
        formatted = _fn("format_string", exp.Literal.string(template), *args)
        if not args:
            return formatted
        # DuckDB's format is NULL when an argument is; Java's formatter would print "null"
        # (built as a tree: parsed again, FORMAT_STRING would read as a DuckDB format and be rewritten twice)
        any_null = exp.or_(*(exp.Is(this=exp.paren(a.copy()), expression=exp.Null()) for a in node.expressions))
        return exp.Case().when(any_null, exp.Null()).else_(formatted)
    return node


def ordered_list(node: exp.Expression) -> exp.Expression:
    """DuckDB ``list(x ORDER BY k1 [DESC], ...)`` [``FILTER (WHERE c)``]: sqlglot writes
    ``COLLECT_LIST(x)`` and drops the order. Spark form: collect
    ``struct(k1, ..., x)``, sort with a comparator over the keys, keep ``x``. The order keys
    may be NULL: they sort last, DuckDB's default, unless the key says ``NULLS FIRST``.
    ``list(DISTINCT x ORDER BY x)`` is ``array_sort(collect_set(x))``."""
    where = None
    agg = node
    if isinstance(node, exp.Filter) and isinstance(node.this, exp.ArrayAgg):
        agg, where = node.this, node.expression
    if not isinstance(agg, exp.ArrayAgg) or not isinstance(agg.this, exp.Order):
        return node
    order: exp.Order = agg.this
    value = order.this
    keys = order.expressions
    filt = f" FILTER ({where.sql('spark')})" if where is not None else ""
    if isinstance(value, exp.Distinct):
        (inner,) = value.expressions
        if len(keys) == 1 and keys[0].this == inner and not keys[0].args.get("desc"):
            return _spark(f"ARRAY_SORT(COLLECT_SET({inner.sql('spark')}){filt})")
        raise ValueError("list(DISTINCT x ORDER BY ...) has a Spark form only when ordered by x itself")
    fields = ", ".join(f"'k{i}', {k.this.sql('spark')}" for i, k in enumerate(keys))
    compare = " ".join(
        f"WHEN l.k{i} IS NULL AND r.k{i} IS NOT NULL THEN {-1 if k.args.get('nulls_first') else 1} "
        f"WHEN l.k{i} IS NOT NULL AND r.k{i} IS NULL THEN {1 if k.args.get('nulls_first') else -1} "
        f"WHEN l.k{i} < r.k{i} THEN {1 if k.args.get('desc') else -1} "
        f"WHEN l.k{i} > r.k{i} THEN {-1 if k.args.get('desc') else 1}" for i, k in enumerate(keys))
    return _spark(f"TRANSFORM(ARRAY_SORT(COLLECT_LIST(NAMED_STRUCT({fields}, 'v', {value.sql('spark')})){filt}, "
                  f"(l, r) -> CASE {compare} ELSE 0 END), s -> s.v)")


def list_slice(node: exp.Expression) -> exp.Expression:
    """DuckDB ``l[a:b]`` (1-based, inclusive) passes through; Spark's ``slice(l, a, b - a + 1)``."""
    if isinstance(node, exp.Bracket) and len(node.expressions) == 1 and isinstance(node.expressions[0], exp.Slice):
        sl = node.expressions[0]
        start = sl.this if sl.this is not None else exp.Literal.number(1)
        length = exp.paren(exp.Add(this=exp.Sub(this=sl.expression, expression=start.copy()),
                                   expression=exp.Literal.number(1)))
        return _fn("slice", node.this, start, length)
    return node


def date_trunc(node: exp.Expression) -> exp.Expression:
    """Spark's ``date_trunc`` returns a time-zone-aware TIMESTAMP even for a naive input; DuckDB keeps
    the naive type. Cast back to ``TIMESTAMP_NTZ`` (the session time zone is UTC, so the wall
    clock is unchanged)."""
    if isinstance(node, (exp.TimestampTrunc, exp.DateTrunc)) and not isinstance(node.parent, exp.Cast):
        return exp.cast(node, exp.DataType.build("TIMESTAMP_NTZ", dialect="spark"))
    return node


def glob(node: exp.Expression) -> exp.Expression:
    """DuckDB ``value GLOB pattern`` (whole value; ``*``, ``?``, ``[...]``, ``[!...]``) has no Spark
    operator: the pattern becomes an anchored Java regex in SQL and the test ``RLIKE``."""
    if isinstance(node, exp.Glob):
        pattern = node.expression.sql("spark")
        # Spark SQL text: backslashes are doubled inside string literals
        escaped = "REGEXP_REPLACE(" + pattern + r", '([.+^$(){}|\\\\])', '\\\\$1')"
        regex = f"CONCAT('(?s)^', REPLACE(REPLACE(REPLACE({escaped}, '*', '.*'), '?', '.'), '[!', '[^'), '$')"
        return _spark(f"{node.this.sql('spark')} RLIKE {regex}")
    return node


def qualify(node: exp.Expression) -> exp.Expression:
    """Spark has no ``QUALIFY``. sqlglot's own rewrite keeps its helper column in the output when the
    projection is a star (``SELECT *`` over a subquery that adds ``_w``). Here the condition becomes
    a boolean column ``_qualify`` of the inner query (its window functions are evaluated there, with
    every input column in scope), the outer query filters on it and projects
    ``* EXCEPT (_qualify)``: the same columns as the DuckDB statement."""
    if not isinstance(node, exp.Select) or not node.args.get("qualify"):
        return node
    condition = node.args["qualify"].this.copy()
    inner = node.copy()
    inner.set("qualify", None)
    inner.select(exp.alias_(condition, "_qualify"), copy=False)
    outer = _spark("SELECT * EXCEPT (_qualify) FROM (SELECT 1) AS _q WHERE _qualify")
    outer.set("from_" if "from_" in outer.args else "from",
              exp.From(this=exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier("_q")))))
    return outer


def list_extract(node: exp.Expression) -> exp.Expression:
    """DuckDB ``list_extract(l, i)`` (1-based; NULL out of range or at 0) passes through untranslated.
    sqlglot shifts a literal ``l[1]`` to Spark's 0-based ``l[0]`` but leaves a computed ``l[i]``
    as it is, one element off: so the ``sql/`` files write a computed list index as
    ``list_extract(l, i)`` (``m[k]`` is kept for maps), and this gives Spark ``try_element_at``."""
    if isinstance(node, exp.Anonymous) and str(node.this).lower() in ("list_extract", "array_extract"):
        lst, index = node.expressions
        return _spark(f"IF(({index.sql('spark')}) = 0, NULL, TRY_ELEMENT_AT({lst.sql('spark')}, CAST({index.sql('spark')} AS INT)))")
    return node


def lambda_index(node: exp.Expression) -> exp.Expression:
    """A DuckDB lambda's second parameter (``lambda x, i: ...``) is the 1-based position; Spark's
    ``(x, i) -> ...`` gives the 0-based one. The Spark lambda takes ``_i0`` and the body reads
    ``(_i0 + 1)`` wherever it read ``i``."""
    if (isinstance(node, exp.Lambda) and len(node.expressions) == 2 and node.expressions[1].name != "_i0"
            and isinstance(node.parent, (exp.ArrayFilter, exp.Transform))):
        index = node.expressions[1].name
        body = node.this.transform(
            lambda n: exp.paren(_spark("_i0 + 1")) if isinstance(n, (exp.Identifier, exp.Column))
            and n.name == index and not isinstance(n.parent, exp.Column) else n)
        return exp.Lambda(this=body, expressions=[node.expressions[0], exp.to_identifier("_i0")])
    return node


def arg_tuple(node: exp.Expression) -> exp.Expression:
    """DuckDB ``arg_max(x, (a, b, c))`` orders by the row value (a, then b, then c), a NULL field
    above every value. Spark compares structs field by field with NULL below every value: each
    field is preceded by its ``IS NULL`` flag, which puts NULLs above as in DuckDB."""
    if isinstance(node, (exp.ArgMax, exp.ArgMin)) and isinstance(node.expression, exp.Tuple):
        fields = ", ".join(f"'n{i}', ({e.sql('spark')}) IS NULL, 'k{i}', {e.sql('spark')}"
                           for i, e in enumerate(node.expression.expressions))
        node.set("expression", _spark(f"NAMED_STRUCT({fields})"))
    return node


def star_replace(node: exp.Expression) -> exp.Expression:
    """DuckDB ``t.* REPLACE (expr AS c)``: Spark has ``* EXCEPT`` but no ``REPLACE``. The Spark form
    is ``t.* EXCEPT (c), expr AS c``: the same columns and values, the replaced ones moved to the
    end of the row (steps read columns by name; the conformance suite compares by name)."""
    if not isinstance(node, exp.Select):
        return node
    projections = []
    changed = False
    for item in node.expressions:
        star = item.this if isinstance(item, exp.Column) and isinstance(item.this, exp.Star) else item
        if isinstance(star, exp.Star) and star.args.get("replace"):
            replaced = star.args["replace"]
            star.set("replace", None)
            names = [a.alias for a in replaced]
            star.set("except_", [exp.column(n) for n in names] + list(star.args.get("except_") or []))
            projections += [item, *replaced]
            changed = True
        else:
            projections.append(item)
    if changed:
        node.set("expressions", projections)
    return node


def regexp_full_match(node: exp.Expression) -> exp.Expression:
    """DuckDB ``regexp_full_match(s, 'p')`` passes through untranslated; Spark ``s RLIKE '^(?:p)\\z'``
    (``\\z``, not ``$``, which would also match before a final line break)."""
    if isinstance(node, exp.RegexpFullMatch):
        if not (isinstance(node.expression, exp.Literal) and node.expression.is_string):
            raise ValueError("regexp_full_match needs a literal pattern to have a Spark form")
        return exp.RegexpLike(this=node.this, expression=exp.Literal.string(f"^(?:{node.expression.this})\\z"))
    return node


def timestamptz(node: exp.Expression) -> exp.Expression:
    """DuckDB ``timestamptz`` is an instant; sqlglot writes Spark ``TIMESTAMP``, which this engine
    sets to mean ``TIMESTAMP_NTZ`` (naive, like DuckDB's ``timestamp``): it must be ``TIMESTAMP_LTZ``."""
    if isinstance(node, exp.DataType) and node.this == exp.DataType.Type.TIMESTAMPTZ:
        return exp.DataType.build("TIMESTAMP_LTZ", dialect="spark")
    return node


def _zoned(node: exp.Expression) -> bool:
    """Whether a DuckDB timestamp expression is an instant (``timestamptz``) rather than naive."""
    if isinstance(node, (exp.Cast, exp.TryCast)):
        return node.to.this in (exp.DataType.Type.TIMESTAMPTZ, exp.DataType.Type.TIMESTAMPLTZ)
    if isinstance(node, exp.UnixToTime):
        return node.args.get("scale") is None  # to_timestamp(seconds); epoch_ms/make_timestamp are naive
    if isinstance(node, exp.Anonymous) and str(node.this).lower() == "timezone":
        return not _zoned(node.expressions[1])
    if isinstance(node, exp.Anonymous) and str(node.this).lower() in ("try_strptime", "strptime"):
        return False
    raise ValueError(f"timezone(): cannot tell whether {node.sql('duckdb')} is naive or zoned")


def timezone(node: exp.Expression) -> exp.Expression:
    """DuckDB ``timezone(zone, ts)`` passes through untranslated. On an instant it gives the naive
    wall-clock time in ``zone`` (Spark: ``from_utc_timestamp``, as naive); on a naive time it
    reads it in ``zone`` and gives the instant (Spark: ``to_utc_timestamp``). Which one is
    decided from the argument's form (see :func:`_zoned`); the session time zone is UTC."""
    if isinstance(node, exp.Anonymous) and str(node.this).lower() == "timezone":
        zone, value = node.expressions
        zoned = _zoned(value)  # decided on the DuckDB form, before the argument is rewritten
        value = timezone(value)
        if zoned:
            return exp.cast(_fn("from_utc_timestamp", value, zone), exp.DataType.build("TIMESTAMP_NTZ", dialect="spark"))
        return _fn("to_utc_timestamp", value, zone)
    return node


def epoch_to_time(node: exp.Expression) -> exp.Expression:
    """DuckDB ``to_timestamp(seconds)`` is an instant (sqlglot's ``FROM_UNIXTIME`` renders text and drops
    the fraction): Spark ``timestamp_seconds``. ``epoch_ms(ms)`` and ``make_timestamp(us)`` are naive
    UTC times: ``timestamp_millis``/``timestamp_micros`` as naive."""
    if isinstance(node, exp.UnixToTime):
        scale = node.args.get("scale")
        if scale is None:
            return _fn("timestamp_seconds", node.this)
        name = {"3": "timestamp_millis", "6": "timestamp_micros"}[str(scale.this)]
        return exp.cast(_fn(name, node.this), exp.DataType.build("TIMESTAMP_NTZ", dialect="spark"))
    return node


#: strftime codes (as sql/ uses them) -> Java DateTimeFormatter letters (lenient widths, as DuckDB parses)
_STRFTIME = {"%d": "d", "%m": "M", "%Y": "yyyy", "%H": "H", "%M": "mm", "%S": "ss"}


def strptime(node: exp.Expression) -> exp.Expression:
    """DuckDB ``try_strptime(s, ['fmt', ...])`` (the first format that parses) passes through:
    Spark ``coalesce(try_to_timestamp(s, 'java fmt'), ...)``, naive."""
    if isinstance(node, exp.Anonymous) and str(node.this).lower() == "try_strptime":
        import re
        value, formats = node.expressions
        formats = formats.expressions if isinstance(formats, exp.Array) else [formats]
        parts = []
        for f in formats:
            java = re.sub(r"%[a-zA-Z]", lambda m: _STRFTIME[m.group(0)], f.this)
            parts.append(exp.cast(_fn("try_to_timestamp", value.copy(), exp.Literal.string(java)),
                                  exp.DataType.build("TIMESTAMP_NTZ", dialect="spark")))
        return exp.Coalesce(this=parts[0], expressions=parts[1:]) if len(parts) > 1 else parts[0]
    return node


#: Applied in this order, pass after pass until the SQL stops changing. ``timezone`` reads its
#: argument's DuckDB form, so it comes before the rewrites of time functions.
REWRITES = (
    timezone, regexp_full_match, timestamptz, epoch_to_time, strptime,  # times and text patterns
    star_replace, qualify, cte_hints,  # statement shapes
    arg_tuple, ordered_list, quantile,  # aggregates
    list_extract, lambda_index, list_slice,  # lists
    date_trunc, glob, to_seconds, epoch, format_string,  # functions
)
