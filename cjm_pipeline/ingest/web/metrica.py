"""Yandex Metrica Logs API exports: formats ``metrica_visits`` and ``metrica_hits``.

Reads the TSV parts the Logs API returns (``GET .../logrequest/{id}/part/{n}/download``):
a header line with the requested ``ym:s:`` (visits) or ``ym:pv:`` (hits) field names, then
one line per visit / hit, tab-separated, no quoting, ClickHouse backslash escapes
(``\\t``, ``\\n``, ``\\'``, ``\\\\``). Lines with the wrong number of fields are quarantined
(the official loader silently drops them).

``metrica_visits``, per visit line (``row`` = data line):

* part 0: ``visit`` at ``ym:s:dateTime`` (the counter's time zone, naive: set the source's
  ``timezone``), ``event_id`` ``visit:<visitID>``, identifier ``ym_client_id`` = ``ym:s:clientID``
  (19 digits, kept as text), ``url`` = ``ym:s:startURL``, ``channel`` from the attribution
  model's ``TrafficSource`` (:func:`parsing.web_channel`), UTMs from the model's ``UTM*``
  fields (or the unprefixed ones), else parsed from the ``startURL`` query;
* one ``goal`` per element of the parallel arrays ``ym:s:goalsID`` / ``goalsSerialNumber`` /
  ``goalsDateTime`` (UTC+3 per the docs: written with ``+03:00``; the visit's time when the
  column is missing), ``event_id`` ``visit:<visitID>:goal:<goalID>:<serial or 1-based index>``;
* one ``purchase`` per element of ``ym:s:purchaseID`` (of ``purchaseRevenue`` when the file
  has no ``purchaseID``), ``revenue`` = ``purchaseRevenue``, time ``purchaseDateTime`` (UTC+3)
  or the visit's, ``event_id`` ``visit:<visitID>:purchase:<purchaseID or #index>``.

Goals and purchases carry the visit's identifiers, channel and UTMs. Parallel arrays of
different lengths, or array text that cannot be read, reject the whole line naming the columns.

``metrica_hits``, one event per hit line: ``page_view`` (``ym:pv:isPageView`` = 1, or no such
column), ``file_download`` (``download`` = 1), ``link_click`` (``link`` = 1), else ``hit``;
``event_id`` ``hit:<watchID>``, time ``ym:pv:dateTime`` (counter time zone), properties
``watch_id`` and ``visit_id`` (``ym:pv:visitID`` exists only since 2025-10-10). Hits of older
exports are joined to their visit through the visit's ``watch_ids`` property in SQL
(``sql/staging/hit_visits.sql``), so a hit without its own channel takes its visit's.

Every column the parser does not map is kept as a property under its original header
(``ym:s:browser``), so new fields need no code change. See ``docs/formats/metrica.md``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from ...config import SourceConfig
from ...errors import InputDataError
from .. import jsondocs, textfiles
from ..parsing import option_values, web_channel
from ..records import Event, Reject
from .metrica_json import json_table

S = "ym:s:"
PV = "ym:pv:"

#: Attribution models (the names spliced into visit field names), in ``auto``'s order of preference.
ATTRIBUTIONS = (
    "lastsign", "last", "first", "last_yandex_direct_click",
    "cross_device_last_significant", "cross_device_last", "cross_device_first",
    "cross_device_last_yandex_direct_click", "automatic",
)

#: Visit fields whose name carries the attribution model (``ym:s:<model><field>``).
ATTRIBUTED_FIELDS = (
    "TrafficSource", "AdvEngine", "ReferalSource", "SearchEngineRoot", "SearchEngine", "SocialNetwork",
    "SocialNetworkProfile", "RecommendationSystem", "Messenger",
    "DirectClickOrder", "DirectBannerGroup", "DirectClickBanner", "DirectClickOrderName", "ClickBannerGroupName",
    "DirectClickBannerName", "DirectPhraseOrCond", "DirectPlatformType", "DirectPlatform", "DirectConditionType",
    "CurrencyID", "UTMCampaign", "UTMContent", "UTMMedium", "UTMSource", "UTMTerm",
    "openstatAd", "openstatCampaign", "openstatService", "openstatSource", "hasGCLID", "GCLID",
)
_ATTRIBUTED_LOWER = {f.lower(): f for f in ATTRIBUTED_FIELDS}

#: Visit fields mapped to named properties (the rest keep their header).
VISIT_PROPERTIES = {
    "visitID": "visit_id", "counterID": "counter_id", "pageViews": "page_views",
    "visitDuration": "visit_duration_s", "bounce": "bounce", "isNewUser": "is_new_user",
    "deviceCategory": "device_category", "regionCity": "region_city", "watchIDs": "watch_ids",
}

#: Parallel arrays of one goal reach each (``goalsID`` is the key), and the goal property of each.
GOAL_ARRAYS = {
    "goalsID": "goal_id", "goalsSerialNumber": "goal_serial", "goalsDateTime": None,
    "goalsPrice": "goal_price", "goalsOrder": "goal_order", "goalsCurrency": "goal_currency",
}
#: Parallel arrays of one purchase each (``purchaseID`` is the key).
PURCHASE_ARRAYS = {
    "purchaseID": "purchase_id", "purchaseDateTime": None, "purchaseRevenue": None,
    "purchaseCurrency": "purchase_currency", "purchaseCoupon": "purchase_coupon",
}

#: Hit fields mapped to named properties.
HIT_PROPERTIES = {
    "watchID": "watch_id", "counterID": "counter_id", "title": "title", "referer": "referer", "goalsID": "goals_id",
}

VISIT_REQUIRED = [S + "visitID", S + "dateTime", S + "clientID"]
HIT_REQUIRED = [PV + "watchID", PV + "dateTime", PV + "clientID"]

_UTM = ("UTMSource", "UTMMedium", "UTMCampaign")

#: ClickHouse's zero DateTime (and epoch 0 shown in UTC+3): no time at all.
_ZERO_TIMES = frozenset(("0000-00-00 00:00:00", "1970-01-01 00:00:00", "1970-01-01 03:00:00"))
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}")


class ArrayError(ValueError):
    """Array text that cannot be read."""


# --------------------------------------------------------------------------- values


def parse_array(value: str | None) -> list[str]:
    r"""The elements of a Logs API array field as text; ``[]`` for an empty array or cell.

    Numeric arrays ``[1,2]``; string / DateTime arrays ``['a','b']`` whose quotes may be
    backslash-escaped and whose elements may hold commas. The reader gets the cell with the
    TSV escapes already undone, so an escaped quote inside an element (``\'``) usually
    arrives as a bare ``'``: a quote closes an element only where it is followed by ``]``
    or by a comma and the next element's opening quote; ``\x`` still stands for ``x``
    (exports escaped twice).

    >>> parse_array("[312345678,312345679]"), parse_array("[]"), parse_array(None)
    (['312345678', '312345679'], [], [])
    >>> parse_array("['2024-03-01 10:47:30','2024-03-01 10:49:02']")
    ['2024-03-01 10:47:30', '2024-03-01 10:49:02']
    >>> parse_array("['ОСЕНЬ'25, -10%','it\\'s','a,b']")
    ["ОСЕНЬ'25, -10%", "it's", 'a,b']
    >>> parse_array("['x', y','z']"), parse_array("['','']")
    (["x', y", 'z'], ['', ''])
    """
    if value is None:
        return []
    s = value.strip()
    if not s:
        return []
    if not (s.startswith("[") and s.endswith("]")):
        raise ArrayError("not an array (expected [...])")
    end = len(s) - 1
    out: list[str] = []
    i = 1

    def skip_spaces(j: int) -> int:
        while j < end and s[j] in " \t":
            j += 1
        return j

    i = skip_spaces(i)
    if i == end:
        return out
    while True:
        i = skip_spaces(i)
        if i < end and s[i] == "'":
            i += 1
            buf: list[str] = []
            while True:
                if i >= end:
                    raise ArrayError(f"unterminated quoted element after {len(out)} element(s)")
                ch = s[i]
                if ch == "\\" and i + 1 < end:
                    buf.append(s[i + 1])
                    i += 2
                    continue
                if ch == "'":
                    k = skip_spaces(i + 1)
                    if k == end:
                        i = k
                        break
                    if s[k] == ",":
                        nxt = skip_spaces(k + 1)
                        if nxt < end and s[nxt] == "'":
                            i = k
                            break
                    buf.append(ch)  # a quote inside the element
                    i += 1
                    continue
                buf.append(ch)
                i += 1
            out.append("".join(buf))
        else:
            j = i
            while j < end and s[j] != ",":
                j += 1
            element = s[i:j].strip()
            if not element or "'" in element or "[" in element:
                raise ArrayError(f"unexpected text {s[i:j + 1]!r} at element {len(out) + 1}")
            out.append(element)
            i = j
        i = skip_spaces(i)
        if i == end:
            return out
        if s[i] != ",":
            raise ArrayError(f"expected ',' or ']' after element {len(out)}, found {s[i]!r}")
        i += 1


def utc3_time(value: str | None) -> str | None:
    """A Logs API "UTC+3" DateTime as ISO 8601 with ``+03:00``; None for an empty or zero time;
    any other text unchanged (staging quarantines it naming ``event_time``).

    >>> utc3_time("2025-10-09 22:01:30"), utc3_time("0000-00-00 00:00:00"), utc3_time("yesterday")
    ('2025-10-09T22:01:30+03:00', None, 'yesterday')
    """
    v = (value or "").strip()
    if not v or v in _ZERO_TIMES:
        return None
    if _DATETIME.fullmatch(v):
        return v.replace(" ", "T") + "+03:00"
    return v


def _present(value: str | None) -> str | None:
    """Trimmed text, None when empty."""
    if value is None:
        return None
    v = value.strip()
    return v or None


def _id(value: str | None) -> str | None:
    """A Metrica UInt64 id as text; None for empty and ``0`` (no id)."""
    v = _present(value)
    return None if v is None or v == "0" else v


def url_utms(url: str | None) -> dict[str, str | None]:
    """``utm_source``/``utm_medium``/``utm_campaign`` of a URL's query string.

    >>> url_utms("https://example.ru/?utm_source=yandex&utm_medium=cpc&utm_campaign=brand&yclid=1")
    {'utm_source': 'yandex', 'utm_medium': 'cpc', 'utm_campaign': 'brand'}
    >>> url_utms("https://example.ru/catalog"), url_utms(None)
    ({'utm_source': None, 'utm_medium': None, 'utm_campaign': None}, {'utm_source': None, 'utm_medium': None, 'utm_campaign': None})
    """
    keys = ("utm_source", "utm_medium", "utm_campaign")
    if not url:
        return dict.fromkeys(keys)
    try:
        query = parse_qs(urlsplit(url.strip()).query)
    except ValueError:
        return dict.fromkeys(keys)
    return {k: _present(query[k][0]) if query.get(k) else None for k in keys}


def _flag(value: str | None) -> bool:
    return _present(value) in ("1", "true", "True")


_TSV_ESCAPE = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _raw_line(header: list[str], row: Mapping[str, str | None]) -> str:
    """The record as one TSV line again (for a reject's raw text)."""
    return "\t".join((row.get(h) or "").translate(_TSV_ESCAPE) for h in header)


# --------------------------------------------------------------------------- attribution


def attribution_columns(header: list[str], prefix: str = S) -> dict[str, dict[str, str]]:
    """``{model: {field: column}}`` of the attributed fields in a header; model ``""`` for
    fields without a model in their name (``ym:s:UTMSource``).

    >>> attribution_columns(["ym:s:lastTrafficSource", "ym:s:lastsignUTMSource", "ym:s:UTMMedium", "ym:s:visitID"])
    {'last': {'TrafficSource': 'ym:s:lastTrafficSource'}, 'lastsign': {'UTMSource': 'ym:s:lastsignUTMSource'}, '': {'UTMMedium': 'ym:s:UTMMedium'}}
    """
    by_length = sorted(ATTRIBUTIONS, key=len, reverse=True)
    out: dict[str, dict[str, str]] = {}
    for column in header:
        if not column.startswith(prefix):
            continue
        rest = column[len(prefix):]
        if rest.lower() in _ATTRIBUTED_LOWER:
            out.setdefault("", {})[_ATTRIBUTED_LOWER[rest.lower()]] = column
            continue
        for model in by_length:
            if rest.lower().startswith(model) and rest[len(model):].lower() in _ATTRIBUTED_LOWER:
                out.setdefault(model, {})[_ATTRIBUTED_LOWER[rest[len(model):].lower()]] = column
                break
    return out


def choose_attribution(option: object, models: Mapping[str, Mapping[str, str]], src: SourceConfig,
                       path: Path) -> str | None:
    """The attribution model whose fields to read: the option's, or with ``auto`` the first of
    :data:`ATTRIBUTIONS` the file has (``""``: only unprefixed fields; None: none at all)."""
    wanted = str(option if option is not None else "auto").strip().lower()
    have = [m for m in ATTRIBUTIONS if m in models]
    if wanted == "auto":
        if have:
            return have[0]
        return "" if "" in models else None
    if wanted not in ATTRIBUTIONS:
        raise InputDataError(src.name, str(path), f"option attribution: unknown model {option!r}; "
                                                  f"use auto or one of: {', '.join(ATTRIBUTIONS)}")
    if wanted not in models:
        found = ", ".join(have) if have else "none"
        raise InputDataError(src.name, str(path), (
            f"option attribution: {wanted!r} but the file has no {S}{wanted}* fields "
            f"(e.g. {S}{wanted}TrafficSource); attribution models in the file: {found}. "
            "Set `attribution: auto` or request the fields with that model"))
    return wanted


# --------------------------------------------------------------------------- visits


def _arrays(row: Mapping[str, str | None], header: set[str], spec: Mapping[str, str | None],
            *keys: str) -> tuple[dict[str, list[str]], str | None]:
    """The parallel arrays of one group (``{field: elements}``) and a reject reason or None;
    no arrays when the file has none of the ``keys`` fields (the first one present is the key)."""
    arrays: dict[str, list[str]] = {}
    for name in spec:
        column = S + name
        if column not in header:
            continue
        try:
            arrays[name] = parse_array(row.get(column))
        except ArrayError as e:
            return {}, f"{column}: cannot read the array {row.get(column)!r}: {e}"
    key = next((k for k in keys if k in arrays), None)
    if key is None:
        return {}, None
    n = len(arrays[key])
    if any(len(v) != n for v in arrays.values()):
        sizes = ", ".join(f"{S}{k} has {len(v)}" for k, v in arrays.items())
        return {}, f"parallel arrays of different lengths: {sizes} element(s)"
    return arrays, None


def _table(path: Path, src: SourceConfig, prefix: str) -> textfiles.Table:
    """A Logs API TSV part, streamed line by line, or a sync tool's JSON records (:mod:`.metrica_json`)."""
    if jsondocs.is_json(textfiles.head_bytes(path)):
        return json_table(path, src, prefix)
    return textfiles.read_delimited(path, src, default_delimiter="\t", tsv_escapes=True)


def parse_visits(path: Path, src: SourceConfig) -> Iterator[Event | Reject]:
    """Records of one Logs API visits part (see the module doc)."""
    table = _table(path, src, S)
    header = table.header
    textfiles.require_columns(header, VISIT_REQUIRED, src, path, "Metrica visits (ym:s:)")
    columns = set(header)
    opts = option_values("metrica_visits", src)
    models = attribution_columns(header)
    model = choose_attribution(opts.get("attribution"), models, src, path)
    chosen = {**models.get("", {}), **(models.get(model, {}) if model else {})}

    traffic_col = chosen.get("TrafficSource")
    utm_cols = {f: chosen.get(f) for f in _UTM}
    mapped = {S + f for f in (*VISIT_PROPERTIES, "clientID", "dateTime", "startURL", *GOAL_ARRAYS, *PURCHASE_ARRAYS)}
    mapped |= {c for c in (traffic_col, *utm_cols.values()) if c}
    extra_cols = [h for h in header if h not in mapped]

    for n, row in table.rows:
        if isinstance(row, Reject):
            yield row
            continue
        visit_id = _id(row.get(S + "visitID"))
        if visit_id is None:
            yield Reject(n, f"{S}visitID: empty (a visit without an id cannot be told apart from its re-exports)",
                         _raw_line(header, row))
            continue
        goals, reason = _arrays(row, columns, GOAL_ARRAYS, "goalsID")
        if reason is None:
            purchases, reason = _arrays(row, columns, PURCHASE_ARRAYS, "purchaseID", "purchaseRevenue")
        if reason is not None:
            yield Reject(n, reason, _raw_line(header, row))
            continue

        url = _present(row.get(S + "startURL"))
        from_url = url_utms(url)
        utm = {f"utm_{f[3:].lower()}": (_present(row.get(c)) if c else from_url[f"utm_{f[3:].lower()}"])
               for f, c in utm_cols.items()}
        traffic = _present(row.get(traffic_col)) if traffic_col else None
        channel = web_channel(traffic, utm["utm_medium"])
        visit_time = _present(row.get(S + "dateTime")) or utc3_time(row.get(S + "dateTimeUTC"))
        identifiers = [("ym_client_id", row.get(S + "clientID"))]
        counter_id = _present(row.get(S + "counterID"))

        props: dict[str, str | None] = {h: row.get(h) for h in extra_cols}
        for field, prop in VISIT_PROPERTIES.items():
            if S + field in columns:
                props[prop] = _present(row.get(S + field))
        props["visit_id"] = visit_id
        if model is not None:
            props["attribution"] = model or None
        if traffic_col:
            props["traffic_source"] = traffic
        common = dict(identifiers=identifiers, channel=channel, **utm)
        yield Event(row=n, part=0, event_time=visit_time, event_type="visit", event_id=f"visit:{visit_id}",
                    url=url, properties=props, **common)

        part = 0
        base = {"visit_id": visit_id, **({"counter_id": counter_id} if S + "counterID" in columns else {})}
        seen: set[str] = set()
        for i, goal_id in enumerate(goals.get("goalsID", [])):
            serial = _present(goals["goalsSerialNumber"][i]) if "goalsSerialNumber" in goals else None
            key = f"{goal_id}:{serial or i + 1}"
            if key in seen:  # the same goal and serial twice in one visit: keep both
                key = f"{key}:{i + 1}"
            seen.add(key)
            goal_props = {**base, **{prop: _present(goals[name][i]) for name, prop in GOAL_ARRAYS.items()
                                     if prop and name in goals}}
            when = utc3_time(goals["goalsDateTime"][i]) if "goalsDateTime" in goals else None
            part += 1
            yield Event(row=n, part=part, event_time=when or visit_time, event_type="goal",
                        event_id=f"visit:{visit_id}:goal:{key}", properties=goal_props, **common)
        seen = set()
        for i in range(len(next(iter(purchases.values()), []))):
            key = (_present(purchases["purchaseID"][i]) if "purchaseID" in purchases else None) or f"#{i + 1}"
            if key in seen:
                key = f"{key}:{i + 1}"
            seen.add(key)
            purchase_props = {**base, **{prop: _present(purchases[name][i]) for name, prop in PURCHASE_ARRAYS.items()
                                         if prop and name in purchases}}
            when = utc3_time(purchases["purchaseDateTime"][i]) if "purchaseDateTime" in purchases else None
            revenue = _present(purchases["purchaseRevenue"][i]) if "purchaseRevenue" in purchases else None
            part += 1
            yield Event(row=n, part=part, event_time=when or visit_time, event_type="purchase",
                        event_id=f"visit:{visit_id}:purchase:{key}", revenue=revenue, properties=purchase_props,
                        **common)


# --------------------------------------------------------------------------- hits


def hit_type(row: Mapping[str, str | None], columns: set[str]) -> str:
    """``page_view``, ``file_download``, ``link_click`` or ``hit`` from a hit's flags.

    >>> cols = {"ym:pv:isPageView", "ym:pv:link", "ym:pv:download"}
    >>> [hit_type({"ym:pv:isPageView": p, "ym:pv:link": l, "ym:pv:download": d}, cols)
    ...  for p, l, d in (("1", "0", "0"), ("0", "1", "0"), ("0", "1", "1"), ("0", "0", "0"))]
    ['page_view', 'link_click', 'file_download', 'hit']
    >>> hit_type({"ym:pv:link": "1"}, {"ym:pv:link"}), hit_type({}, set())
    ('link_click', 'page_view')
    """
    if PV + "isPageView" in columns and _flag(row.get(PV + "isPageView")):
        return "page_view"
    if _flag(row.get(PV + "download")):
        return "file_download"
    if _flag(row.get(PV + "link")):
        return "link_click"
    return "page_view" if PV + "isPageView" not in columns else "hit"


def parse_hits(path: Path, src: SourceConfig) -> Iterator[Event | Reject]:
    """Records of one Logs API hits part (see the module doc)."""
    table = _table(path, src, PV)
    header = table.header
    textfiles.require_columns(header, HIT_REQUIRED, src, path, "Metrica hits (ym:pv:)")
    columns = set(header)
    traffic_col = PV + "lastTrafficSource" if PV + "lastTrafficSource" in columns else None
    utm_cols = {f: PV + f if PV + f in columns else None for f in _UTM}
    mapped = {PV + f for f in (*HIT_PROPERTIES, "visitID", "clientID", "dateTime", "URL",
                               "isPageView", "link", "download")}
    mapped |= {c for c in (traffic_col, *utm_cols.values()) if c}
    extra_cols = [h for h in header if h not in mapped]

    for n, row in table.rows:
        if isinstance(row, Reject):
            yield row
            continue
        watch_id = _id(row.get(PV + "watchID"))
        if watch_id is None:
            yield Reject(n, f"{PV}watchID: empty (a hit without an id cannot be told apart from its re-exports)",
                         _raw_line(header, row))
            continue
        url = _present(row.get(PV + "URL"))
        from_url = url_utms(url)
        utm = {f"utm_{f[3:].lower()}": (_present(row.get(c)) if c else from_url[f"utm_{f[3:].lower()}"])
               for f, c in utm_cols.items()}
        traffic = _present(row.get(traffic_col)) if traffic_col else None
        props: dict[str, str | None] = {h: row.get(h) for h in extra_cols}
        for field, prop in HIT_PROPERTIES.items():
            if PV + field in columns:
                props[prop] = _present(row.get(PV + field))
        props["watch_id"] = watch_id
        if PV + "visitID" in columns:
            props["visit_id"] = _id(row.get(PV + "visitID"))
        if traffic_col:
            props["traffic_source"] = traffic
        yield Event(row=n, event_time=_present(row.get(PV + "dateTime")), event_type=hit_type(row, columns),
                    event_id=f"hit:{watch_id}", channel=web_channel(traffic, utm["utm_medium"]), url=url,
                    identifiers=[("ym_client_id", row.get(PV + "clientID"))], properties=props, **utm)

