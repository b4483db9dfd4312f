"""GA4 BigQuery export (``events_YYYYMMDD`` / ``events_intraday_YYYYMMDD``): format ``ga4``.

Reads the event table as BigQuery writes it when exported to files:

* newline-delimited JSON (INT64 values as JSON strings, NULLs omitted), also gzipped,
  a JSON array of the same objects (BigQuery console "download as JSON"), or one event or
  several pretty-printed (copied from the console's JSON view): the content decides, never the
  file name, and every shape is streamed (:mod:`..jsondocs`);
* Parquet with the nested columns (INT64 values as integers), read in batches.

One record = one GA4 event = one :class:`~..records.Event` (row = line / element / Parquet
record number, part 0):

* ``event_type`` = ``event_name``; ``event_time`` = ``event_timestamp`` (µs since the epoch, UTC);
* identifiers ``ga_client_id`` = ``user_pseudo_id`` and ``user_id`` when the site sets it
  (it may appear mid-session: the events after the login carry both, which stitches them);
* ``event_params`` flattened: each value is whichever of ``string_value``/``int_value``/
  ``float_value``/``double_value`` is set, as text (``"90"`` and ``90`` are both ``90``) ->
  properties ``param.<key>``; ``user_properties`` -> ``user_property.<key>``;
* traffic source on three levels: user-scoped first touch (``traffic_source``) -> properties
  ``first_user_source/medium/campaign``; event-scoped (``collected_traffic_source.manual_*``,
  ``gclid``; older exports: the ``source``/``medium``/``campaign`` event params) -> the utm
  columns; session-scoped last click (``session_traffic_source_last_click.manual_campaign``)
  -> properties ``session_source/medium/campaign`` and the utm columns when the event has
  no event-scoped source; ``channel`` = :func:`parsing.web_channel` of the session medium,
  else the event medium;
* ``purchase``: ``revenue`` = ``ecommerce.purchase_revenue`` (else the ``value`` param).

GA4 has no event id: :func:`event_id` builds a stable one from ``user_pseudo_id``,
``event_timestamp``, ``event_name`` and the batch ordering fields, or an md5 of the sorted
params (what ``dbt-ga4`` deduplicates on), so an intraday file re-exported as the daily
table, or the same day as JSON and as Parquet, gives the same ids. Records of a daily file
carry ``updated_at`` = their event time and intraday ones none, so the daily version of an
event wins over its intraday copy whatever the load order.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ...config import SourceConfig
from ...errors import InputDataError
from .. import jsondocs, textfiles, textstream
from ..parsing import clean, raw_json, text, web_channel
from ..records import Event, Reject

#: GA4's spelling of "no value" in traffic-source fields.
_NOT_SET = frozenset(("", "(not set)", "(not provided)", "null"))

_VALUE_FIELDS = ("string_value", "int_value", "float_value", "double_value")

#: Event params also given as named properties (they stay in ``param.<key>`` too).
_PARAM_PROPERTIES = ("ga_session_id", "ga_session_number", "page_location", "page_referrer", "page_title")

_PARQUET_BATCH = 10_000


# --------------------------------------------------------------------------- small helpers


def _source_value(value: Any) -> str | None:
    """A traffic-source field; None for GA4's ``(not set)``.

    >>> _source_value("google"), _source_value("(not set)"), _source_value("(none)")
    ('google', None, '(none)')
    """
    t = clean(value)
    return None if t is None or t.lower() in _NOT_SET else t


def param_value(value: Any) -> str | None:
    """The value of an ``event_params``/``user_properties`` entry: whichever field is set, as text.

    >>> param_value({"int_value": "1"}), param_value({"string_value": "1"}), param_value({"int_value": 1})
    ('1', '1', '1')
    >>> param_value({"string_value": None, "int_value": None, "double_value": 12.5}), param_value({}), param_value(None)
    ('12.5', None, None)
    """
    if not isinstance(value, dict):
        return None
    for name in _VALUE_FIELDS:
        v = value.get(name)
        if v is not None and not isinstance(v, (dict, list)):
            return text(v)
    return None


def _key_values(record: dict, column: str) -> dict[str, str | None]:
    """``event_params`` / ``user_properties`` as ``{key: text}`` (the first entry of a key wins)."""
    entries = record.get(column)
    if entries is None:
        return {}
    if not isinstance(entries, list):
        raise ValueError(f"{column}: expected a list of {{key, value}} entries, got {type(entries).__name__}")
    out: dict[str, str | None] = {}
    for entry in entries:
        if not isinstance(entry, dict) or clean(entry.get("key")) is None:
            continue
        key = clean(entry["key"])
        if key not in out:
            out[key] = param_value(entry.get("value"))
    return out


def event_id(record: dict, params: dict[str, str | None]) -> str:
    """A stable id for a GA4 event (GA4 has none).

    ``event:<user_pseudo_id>:<event_timestamp>:<event_name>:`` then the batch ordering fields
    (``b<batch_page_id>.<batch_ordering_id>.<batch_event_index>``) when the export has them,
    else ``p<md5 of the sorted params>``; params are compared as text, so ``"90"`` in JSON and
    ``90`` in Parquet give the same id.

    >>> event_id({"user_pseudo_id": "1.2", "event_timestamp": "1696470418877027", "event_name": "page_view",
    ...           "batch_ordering_id": "3", "batch_event_index": 0}, {})
    'event:1.2:1696470418877027:page_view:b.3.0'
    >>> a = event_id({"user_pseudo_id": "1.2", "event_timestamp": 5, "event_name": "x"}, {"b": "90", "a": None})
    >>> a == event_id({"user_pseudo_id": "1.2", "event_timestamp": "5", "event_name": "x"}, {"a": None, "b": "90"})
    True
    """
    who = clean(record.get("user_pseudo_id"))
    if who is None:
        user = clean(record.get("user_id"))
        who = f"user_id={user}" if user is not None else ""
    head = f"event:{who}:{clean(record.get('event_timestamp')) or ''}:{clean(record.get('event_name')) or ''}"
    batch = [clean(record.get(k)) for k in ("batch_page_id", "batch_ordering_id", "batch_event_index")]
    if batch[1] is not None or batch[2] is not None:
        return f"{head}:b{'.'.join(b or '' for b in batch)}"
    canonical = json.dumps(sorted(params.items(), key=lambda kv: kv[0]), ensure_ascii=False, separators=(",", ":"))
    return f"{head}:p{hashlib.md5(canonical.encode('utf-8')).hexdigest()}"


def _epoch_ms(timestamp: str | None) -> str | None:
    """µs digits -> ms digits (``updated_at`` wants seconds or milliseconds)."""
    if timestamp is None or not timestamp.isdigit() or len(timestamp) < 15:
        return None
    return timestamp[:-3]


# --------------------------------------------------------------------------- one record


def record_event(n: int, record: dict, *, intraday: bool = False) -> Event:
    """The :class:`Event` of one export record (``n``: its 1-based number in the file).

    A value staging cannot use (no ``event_timestamp``, no ``user_pseudo_id`` nor ``user_id``)
    is passed on as it is: staging quarantines the row naming the column.
    """
    params = _key_values(record, "event_params")
    user_props = _key_values(record, "user_properties")
    get = textfiles.dig

    name = clean(record.get("event_name"))
    timestamp = clean(record.get("event_timestamp"))
    pseudo_id = clean(record.get("user_pseudo_id"))
    user_id = clean(record.get("user_id"))

    props: dict[str, str | None] = {}

    def put(key: str, value: Any) -> None:
        v = clean(value)
        if v is not None:
            props[key] = v

    for key, value in params.items():
        props[f"param.{key}"] = value
    for key, value in user_props.items():
        props[f"user_property.{key}"] = value
    for key in _PARAM_PROPERTIES:
        put(key, params.get(key))
    session_id = clean(params.get("ga_session_id"))
    if pseudo_id is not None and session_id is not None:
        props["session_key"] = f"{pseudo_id}.{session_id}"
    put("event_date", record.get("event_date"))
    put("stream_id", record.get("stream_id"))
    put("platform", record.get("platform"))
    put("user_pseudo_id", pseudo_id)
    put("user_first_touch_timestamp", record.get("user_first_touch_timestamp"))
    put("device_category", get(record, "device", "category"))
    put("device_os", get(record, "device", "operating_system"))
    put("device_browser", get(record, "device", "web_info", "browser") or get(record, "device", "browser"))
    put("device_language", get(record, "device", "language"))
    put("hostname", get(record, "device", "web_info", "hostname") or get(record, "event_dimensions", "hostname"))
    put("geo_country", get(record, "geo", "country"))
    put("geo_region", get(record, "geo", "region"))
    put("geo_city", get(record, "geo", "city"))

    # user-scoped first touch
    put("first_user_source", _source_value(get(record, "traffic_source", "source")))
    put("first_user_medium", _source_value(get(record, "traffic_source", "medium")))
    put("first_user_campaign", _source_value(get(record, "traffic_source", "name")))

    # session-scoped last click (2024+ exports): manual campaign, else the cross-channel one
    session = get(record, "session_traffic_source_last_click", "manual_campaign")
    session = {
        "source": _source_value(get(session, "source")),
        "medium": _source_value(get(session, "medium")),
        "campaign": _source_value(get(session, "campaign_name")),
    }
    if not any(session.values()):
        cross = get(record, "session_traffic_source_last_click", "cross_channel_campaign")
        session = {
            "source": _source_value(get(cross, "source")),
            "medium": _source_value(get(cross, "medium")),
            "campaign": _source_value(get(cross, "campaign_name")),
        }
    for key, value in session.items():
        put(f"session_{key}", value)
    put("session_default_channel_group",
        _source_value(get(record, "session_traffic_source_last_click", "cross_channel_campaign", "default_channel_group")))

    # event-scoped: collected_traffic_source (2023+), else the source/medium/campaign params
    collected = record.get("collected_traffic_source")
    gclid = _source_value(get(collected, "gclid"))
    event_scope = {
        "source": _source_value(get(collected, "manual_source")) or _source_value(params.get("source")),
        "medium": _source_value(get(collected, "manual_medium")) or _source_value(params.get("medium")),
        "campaign": _source_value(get(collected, "manual_campaign_name")) or _source_value(params.get("campaign")),
    }
    if gclid is not None:  # a Google Ads click without manual tagging is google / cpc
        put("gclid", gclid)
        event_scope["source"] = event_scope["source"] or "google"
        event_scope["medium"] = event_scope["medium"] or "cpc"
    put("utm_term", _source_value(get(collected, "manual_term")) or _source_value(params.get("term")))
    put("utm_content", _source_value(get(collected, "manual_content")) or _source_value(params.get("content")))
    utm = event_scope if any(event_scope.values()) else session

    # ecommerce
    items = record.get("items")
    if isinstance(items, list) and items:
        props["items_count"] = str(len(items))
    put("item_quantity", get(record, "ecommerce", "total_item_quantity"))
    put("transaction_id", _source_value(get(record, "ecommerce", "transaction_id"))
        or _source_value(params.get("transaction_id")))
    put("currency", params.get("currency"))
    revenue = None
    if name == "purchase":
        revenue = clean(get(record, "ecommerce", "purchase_revenue"))
        if revenue is None:
            revenue = clean(params.get("value"))

    identifiers = []
    if pseudo_id is not None:
        identifiers.append(("ga_client_id", pseudo_id))
    if user_id is not None:
        identifiers.append(("user_id", user_id))

    return Event(
        row=n,
        event_time=timestamp,
        event_type=name,
        event_id=event_id(record, params),
        channel=web_channel(session["medium"], event_scope["medium"]),
        utm_source=utm["source"],
        utm_medium=utm["medium"],
        utm_campaign=utm["campaign"],
        url=clean(params.get("page_location")),
        revenue=revenue,
        updated_at=None if intraday else _epoch_ms(timestamp),
        identifiers=identifiers,
        properties=props,
    )


def _convert(n: int, record: Any, raw: Any, *, intraday: bool) -> Event | Reject:
    if not isinstance(record, dict):
        return Reject(n, f"a GA4 event must be a JSON object, got {type(record).__name__}", _raw(raw))
    try:
        return record_event(n, record, intraday=intraday)
    except ValueError as e:
        return Reject(n, str(e), _raw(raw))


def _raw(value: Any) -> str:
    return value[:2000] if isinstance(value, str) else raw_json(value)


# --------------------------------------------------------------------------- files


def is_intraday(path: Path) -> bool:
    """A streaming-export file (``events_intraday_YYYYMMDD``): its events give way to the daily table's.

    >>> is_intraday(Path("exports/events_intraday_20231005.json")), is_intraday(Path("events_20231005.json"))
    (True, False)
    """
    return "intraday" in path.name.lower()


def _parquet_records(source: Any, src: SourceConfig, path: Path) -> Iterator[dict]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(source)
        for batch in pf.iter_batches(batch_size=_PARQUET_BATCH):
            yield from batch.to_pylist()
    except (pa.ArrowException, OSError) as e:
        raise InputDataError(src.name, str(path), f"cannot read the Parquet file: {e}") from None


def parse(path: Path, src: SourceConfig) -> Iterator[Event | Reject]:
    """Every event of one export file: NDJSON, a JSON array, or Parquet."""
    intraday = is_intraday(path)
    if path.name.lower().endswith((".parquet", ".pq")):
        for n, record in enumerate(_parquet_records(path, src, path), start=1):
            yield _convert(n, record, record, intraday=intraday)
        return
    with textstream.open_binary(path) as f:
        magic = f.read(4)
    if magic == b"PAR1":  # Parquet under another name (gzipped: decompressed in memory)
        import pyarrow as pa

        source = pa.BufferReader(textfiles.read_bytes(path)) if path.name.lower().endswith(".gz") else path
        for n, record in enumerate(_parquet_records(source, src, path), start=1):
            yield _convert(n, record, record, intraday=intraday)
        return
    # NDJSON, a JSON array (BigQuery console "download as JSON"), one pretty-printed event,
    # or several: told apart by the content and streamed (jsondocs)
    for n, _, record in jsondocs.records(path, src, _SHAPE):
        yield record if isinstance(record, Reject) else _convert(n, record, record, intraday=intraday)


#: GA4 events are bare records (no page, no id).
_SHAPE = jsondocs.Shape({})
