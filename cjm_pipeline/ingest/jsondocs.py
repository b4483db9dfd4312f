"""JSON files as every JSON format reads them: one document or NDJSON, pages or single objects.

Users save API responses in many shapes, and one reader accepts them all, for every JSON
format (amoCRM, Bitrix24, HubSpot, Salesforce, GA4, Calltouch, CoMagic, CallRail, Metrica
records from a sync tool):

* **documents and NDJSON are told apart by their content**, never by the file name: a file
  whose first line is a whole JSON value (and which goes on with more) is NDJSON, one value
  per line, a broken line quarantined on its own; anything else (a pretty-printed object, a
  compact array on one line, several pretty-printed objects one after another) is read as
  JSON documents, however its lines are broken;
* **a page, a list, a single object**: an API page (a list of records under one of the
  format's container paths, ``_embedded.leads``, ``result``, ``results``, ``calls`` ...), a
  JSON array of pages or of records, a single record (``GET /calls/{id}.json``, a webhook
  saved one per file), or a single record wrapped in the response (Bitrix24 ``crm.deal.get``:
  ``{"result": {...}}``, the format's *single paths*);
* **sync tools' envelopes** are opened: an Airbyte protocol message (``{"type": "RECORD",
  "record": {"stream": ..., "data": {...}}}``, other message types skipped), the connector
  output ``{"stream": ..., "data": {...}, "emitted_at": ...}``, a raw table row
  (``_airbyte_data``, an object or its JSON text); ``_airbyte_*`` bookkeeping columns of a
  typed table are dropped.

**Memory does not grow with the file.** NDJSON is read line by line; a document is read with
:class:`_Scanner`, which parses one value at a time from a window of the text: each element
of a top-level array on its own, and a top-level object whole when it is smaller than
:data:`WHOLE_LIMIT`, else streamed: the records of its container lists one by one (a page
of a million records never sits in memory). Records are numbered 1, 2, ... across the
file, which is the row number quarantine reports.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from ..config import SourceConfig
from ..errors import InputDataError
from .records import Reject
from .textstream import BLOCK, decode_error, open_text

#: A top-level object up to this many characters is parsed whole; a larger one is streamed.
WHOLE_LIMIT = 8 << 20

_WS = re.compile(r"[ \t\r\n]*")
_DECODER = json.JSONDecoder()
_AIRBYTE_MESSAGES = frozenset(("STATE", "LOG", "TRACE", "SPEC", "CATALOG", "CONNECTION_STATUS", "CONTROL"))


class _TooBig(Exception):
    """A top-level object larger than :data:`WHOLE_LIMIT`: stream it instead."""


def _raw(value: Any) -> str:
    return value[:2000] if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)[:2000]


# --------------------------------------------------------------------------- scanning


class _Scanner:
    """JSON values parsed one at a time from a text stream through a sliding window."""

    def __init__(self, text: IO[str], start: str, path: Path, src: SourceConfig):
        self.text, self.buf, self.pos, self.eof = text, start, 0, False
        self.path, self.src = path, src
        self.lines_before = 0  # newlines in the text dropped from the window

    def _fill(self, size: int = BLOCK) -> bool:
        if self.eof:
            return False
        try:
            chunk = self.text.read(max(size, BLOCK))
        except UnicodeDecodeError as e:
            raise decode_error(self.path, self.src, e, f"after line {self.lines_before + self.buf.count(chr(10)) + 1}") \
                from None
        except (OSError, EOFError) as e:  # a truncated .gz
            raise InputDataError(self.src.name, str(self.path), f"cannot read the file: {e}") from None
        if not chunk:
            self.eof = True
            return False
        if self.pos >= BLOCK:  # drop what was read
            self.lines_before += self.buf.count("\n", 0, self.pos)
            self.buf, self.pos = self.buf[self.pos:], 0
        self.buf += chunk
        return True

    def peek(self) -> str:
        """The next character that is no white space ("" at the end of the text)."""
        while True:
            self.pos = _WS.match(self.buf, self.pos).end()
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self._fill():
                return ""

    def take(self, char: str) -> None:
        if self.peek() != char:
            self.fail(f"expected {char!r}")
        self.pos += 1

    def fail(self, message: str, at: int | None = None) -> None:
        at = self.pos if at is None else at
        line = self.lines_before + self.buf.count("\n", 0, at) + 1
        column = at - self.buf.rfind("\n", 0, at)
        raise InputDataError(self.src.name, str(self.path), f"not valid JSON: {message} at line {line}, column {column}")

    def value(self, limit: int | None = None) -> Any:
        """The JSON value at the position (integers exact); ``_TooBig`` past ``limit`` characters."""
        self.peek()
        while True:
            try:
                obj, end = _DECODER.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as e:
                if limit is not None and len(self.buf) - self.pos > limit:
                    raise _TooBig() from None
                if self._fill(len(self.buf) - self.pos):  # the value goes on past the window
                    continue
                self.fail(e.msg, e.pos)
            if end == len(self.buf) and not self.eof and self._fill():
                continue  # a number may go on past the window
            self.pos = end
            return obj

    def values(self) -> Iterator[Any]:
        """Every top-level value; an array's elements one by one (a value of kind ``_Element``)."""
        while (char := self.peek()) != "":
            if char == "[":
                self.pos += 1
                if self.peek() == "]":
                    self.pos += 1
                    continue
                while True:
                    yield _Element(self.value())
                    if self.peek() == ",":
                        self.pos += 1
                        continue
                    self.take("]")
                    break
            elif char == "{":
                try:
                    yield self.value(WHOLE_LIMIT)
                except _TooBig:
                    yield _Streamed(self)
            else:
                yield self.value()

    def walk_object(self, paths: Sequence[str], prefix: str = "") -> Iterator[tuple[str, Any]]:
        """``(path, value)`` of a large object: each element of a list at one of ``paths`` one by
        one (``path`` = the list's path), every other member whole (``path`` = its key path)."""
        self.take("{")
        if self.peek() == "}":
            self.pos += 1
            return
        while True:
            key = self.value()
            if not isinstance(key, str):
                self.fail("expected a member name")
            self.take(":")
            path = f"{prefix}{key}"
            char = self.peek()
            if char == "[" and path in paths:
                self.pos += 1
                if self.peek() == "]":
                    self.pos += 1
                else:
                    while True:
                        yield path, self.value()
                        if self.peek() == ",":
                            self.pos += 1
                            continue
                        self.take("]")
                        break
            elif char == "{" and any(p.startswith(path + ".") for p in paths):
                yield from self.walk_object(paths, path + ".")
            else:
                yield f"{path}=", self.value()
            if self.peek() == ",":
                self.pos += 1
                continue
            self.take("}")
            return


class _Element:
    """An element of a top-level JSON array."""

    __slots__ = ("value",)

    def __init__(self, value: Any):
        self.value = value


class _Streamed:
    """A top-level object too large to parse whole: walk it with the scanner."""

    __slots__ = ("scanner",)

    def __init__(self, scanner: _Scanner):
        self.scanner = scanner


def _first_line(text: IO[str]) -> tuple[str, str]:
    """``(the first non-blank line, everything read so far)``; the line is cut at :data:`WHOLE_LIMIT`."""
    read = ""
    while True:
        line = text.readline(WHOLE_LIMIT)
        read += line
        if not line or line.strip() or len(read) > WHOLE_LIMIT:
            return line.strip(), read


def _parses(line: str) -> bool:
    try:
        return isinstance(json.loads(line), (dict, list))
    except ValueError:
        return False


def _is_ndjson(first: str, text: IO[str]) -> tuple[bool, str]:
    """Whether the text is NDJSON, from its first line (and, when that line is broken, the
    next one); also returns what was read beyond the first line."""
    if len(first) >= WHOLE_LIMIT:
        return False, ""
    if _parses(first):
        return True, ""
    if first in ("{", "[") or first.endswith(("{", "[", ",", ":")):
        return False, ""  # the start of a document broken into lines
    second, read = _first_line(text)
    return _parses(second), read


def top_values(path: Path, src: SourceConfig) -> Iterator[tuple[str, Any]]:
    """``(where, value)`` of every top-level value: an NDJSON line (a broken one as a
    :class:`Reject` of row 0), an element of a top-level array (:class:`_Element`), an
    object, or a :class:`_Streamed` object too large to read whole."""
    with open_text(path, src) as text:
        try:
            first, read = _first_line(text)
        except UnicodeDecodeError as e:
            raise decode_error(path, src, e, "in the first line") from None
        if not first:
            return
        ndjson, more = _is_ndjson(first, text)
        if not ndjson:
            yield from ((f"value {i}", v) for i, v in enumerate(_Scanner(text, read + more, path, src).values(), 1))
            return
        n = 0

        def all_lines() -> Iterator[str]:
            yield first
            yield from more.split("\n")
            try:
                yield from text
            except UnicodeDecodeError as e:
                raise decode_error(path, src, e, f"after line {n}") from None

        for line in all_lines():
            line = line.strip()
            if not line:
                continue
            n += 1
            try:
                yield f"line {n}", json.loads(line)
            except json.JSONDecodeError as e:
                yield f"line {n}", Reject(0, f"not valid JSON at line {n} ({e.msg}, column {e.colno})", line[:2000])


# --------------------------------------------------------------------------- shapes


def unwrap(obj: Any) -> Any:
    """A record out of a sync tool's envelope; None for an Airbyte message that is no record.

    >>> unwrap({"type": "RECORD", "record": {"stream": "deals", "data": {"id": "1"}, "emitted_at": 1}})
    {'id': '1'}
    >>> unwrap({"_airbyte_raw_id": "x", "_airbyte_extracted_at": "2024-01-01", "_airbyte_data": '{"id": 2}'})
    {'id': 2}
    >>> unwrap({"stream": "calls", "data": {"id": "CAL1"}, "emitted_at": 5}), unwrap({"type": "STATE", "state": {}})
    ({'id': 'CAL1'}, None)
    >>> unwrap({"id": 3, "_airbyte_raw_id": "x", "_airbyte_meta": {}})
    {'id': 3}
    """
    if not isinstance(obj, dict):
        return obj
    kind = obj.get("type")
    if kind == "RECORD" and isinstance(obj.get("record"), dict):
        return unwrap(obj["record"].get("data"))
    if isinstance(kind, str) and kind in _AIRBYTE_MESSAGES and kind.lower() in obj:
        return None
    if "_airbyte_data" in obj:
        data = obj["_airbyte_data"]
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except ValueError:
                return data
        return unwrap(data)
    if isinstance(obj.get("data"), dict) and isinstance(obj.get("stream"), str) and set(obj) <= {
            "stream", "data", "emitted_at", "namespace", "meta"}:
        return unwrap(obj["data"])
    if any(isinstance(k, str) and k.startswith("_airbyte_") for k in obj):
        return {k: v for k, v in obj.items() if not (isinstance(k, str) and k.startswith("_airbyte_"))}
    return obj


def _dig(obj: Any, path: str) -> Any:
    for key in path.split("."):
        if not isinstance(obj, dict) or key not in obj:
            return _MISSING
        obj = obj[key]
    return obj


_MISSING = object()


class Shape:
    """Where a format's records are in its JSON: container lists (dotted path -> record kind,
    None for the format's only kind), single-record paths, and what marks an error response."""

    def __init__(self, lists: Mapping[str, str | None], singles: Sequence[str] = (),
                 error: Callable[[Any], str | None] | None = None,
                 is_record: Callable[[dict], bool] | None = None, records_have_id: bool = False):
        self.lists, self.singles, self.error = dict(lists), tuple(singles), error
        self.is_record = is_record or (lambda obj: "id" in obj and "jsonrpc" not in obj)
        self.records_have_id = records_have_id
        """True when every record of the format has an ``id``: an object with neither an ``id`` nor
        a known list is then no record but a response this format does not read (an input error)."""

    def expand(self, obj: Any, path: Path, src: SourceConfig) -> Iterator[tuple[str | None, Any]]:
        """``(kind, record)`` of one top-level value (a page, a list, a single record, an envelope)."""
        obj = unwrap(obj)
        if obj is None:
            return
        if isinstance(obj, list):
            for item in obj:
                yield from self.expand(item, path, src)
            return
        if not isinstance(obj, dict):
            yield None, obj
            return
        message = self.error(obj) if self.error is not None else None
        if message:
            raise InputDataError(src.name, str(path), f"the file holds an API error response, not records: {message}")
        if not self.is_record(obj):
            empty = False
            for list_path, kind in self.lists.items():
                value = _dig(obj, list_path)
                if isinstance(value, list):
                    for item in value:
                        item = unwrap(item)
                        if item is not None:
                            yield kind, item
                    return
                empty = empty or value is None or value == {}
            for single in self.singles:
                value = _dig(obj, single)
                if isinstance(value, dict) and value:
                    yield self.lists.get(single), unwrap(value)
                    return
                empty = empty or value is None or value == {} or value == []
            if empty:
                return  # an empty page ({"result": []}, {"result": null})
            if self.records_have_id:
                raise InputDataError(src.name, str(path), f"no list of records found under {', '.join(self.lists)}; "
                                                          f"the JSON document has: {list(obj)}")
        yield None, obj


def records(path: Path, src: SourceConfig, shape: Shape) -> Iterator[tuple[int, str | None, Any]]:
    """``(row, kind, record)`` of every record of a JSON or NDJSON file, numbered from 1 across
    the file; a broken NDJSON line is a :class:`Reject` in place of its record; ``kind`` is
    the container's kind (None for a bare record)."""
    n = 0
    for where, value in top_values(path, src):
        if isinstance(value, Reject):
            n += 1
            yield n, None, Reject(n, value.reason, value.raw_text)
            continue
        if isinstance(value, _Element):
            value = value.value
        if isinstance(value, _Streamed):
            for member, item in value.scanner.walk_object(list(shape.lists)):
                if member.endswith("="):
                    message = shape.error({member[:-1]: item}) if shape.error is not None else None
                    if message:
                        raise InputDataError(src.name, str(path), f"the file holds an API error response: {message}")
                    continue
                item = unwrap(item)
                if item is not None:
                    n += 1
                    yield n, shape.lists.get(member), item
            continue
        for kind, record in shape.expand(value, path, src):
            n += 1
            yield n, kind, record


def record_or_reject(row: int, record: Any, what: str = "a record") -> dict | Reject:
    """The record when it is an object (or already a :class:`Reject`), else a Reject saying what it is."""
    if isinstance(record, (dict, Reject)):
        return record
    return Reject(row, f"{what} must be a JSON object, got {type(record).__name__}", _raw(record))


def is_json(head: bytes) -> bool:
    r"""True when the bytes start a JSON value (an object or an array), after a BOM (UTF-8 or
    UTF-16: its NUL bytes are ignored) and white space.

    >>> is_json(b'\xef\xbb\xbf {"a": 1}'), is_json('[1]'.encode("utf-16")), is_json(b"id,time")
    (True, True, False)
    """
    return head[:64].replace(b"\x00", b"").lstrip(b"\xef\xbb\xbf\xff\xfe \t\r\n")[:1] in (b"{", b"[")
