"""The bytes of a delimited file, read so that bad files fail clearly or lose nothing.

* :class:`TolerantStream`: a ``.gz`` file that ends early (a truncated download) or is damaged
  further on yields its readable lines; the broken rest is kept as :attr:`TolerantStream.tail`
  with the reason, for the caller to quarantine as one record, instead of gzip's ``EOFError``
  reaching the command line as a bare "Aborted!".
* :func:`read_header`: the header record whatever its width (a header wider than the sniff
  window is read on) and whatever the line endings (``\\n``, ``\\r\\n``, or old-Mac ``\\r``).
* :func:`decode_batch`: a batch read as bytes becomes text column by column; a row whose bytes
  are not valid UTF-8 in a UTF-8 file (one cp1251 row among UTF-8 ones) is taken out of the
  batch and returned as a reject, its raw text shown as cp1251, so no valid text is changed and
  no invalid text is guessed.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

#: Bytes read at first to sniff the encoding, the delimiter and the header.
SNIFF_BYTES = 1 << 16
#: The widest header read (a header that does not end within it is an error).
MAX_HEADER_BYTES = 64 << 20
#: How text that is not valid UTF-8 is shown in a reject's raw text.
FALLBACK_ENCODING = "cp1251"


class TolerantStream(io.RawIOBase):
    """A readable binary stream over ``raw`` that stops cleanly where the data cannot be read.

    While reading it holds back the bytes after the last line break it has seen, so a reader
    (pyarrow's CSV reader) only ever gets whole lines. If ``raw`` fails (gzip's ``EOFError`` for a
    truncated file, ``zlib.error`` / ``BadGzipFile`` for a damaged one), the stream ends there:
    :attr:`broken` says why and :attr:`tail` holds the bytes of the unfinished last line. At a
    clean end the held-back bytes are passed on (a last line without a line break).
    """

    def __init__(self, raw):
        super().__init__()
        self.raw = raw
        self.broken: str | None = None
        self.tail = b""
        self._ready = bytearray()
        self._held = b""
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def read(self, size: int = -1) -> bytes:
        while not self._ready and not self._done:
            self._pull(max(size, 1 << 16) if size and size > 0 else 1 << 20)
        n = len(self._ready) if size is None or size < 0 else min(size, len(self._ready))
        out = bytes(self._ready[:n])
        del self._ready[:n]
        return out

    def _pull(self, size: int) -> None:
        try:  # read1: one read of the compressed file, so an error loses no data already decompressed
            chunk = self.raw.read1(size) if hasattr(self.raw, "read1") else self.raw.read(size)
        except (EOFError, zlib.error, gzip.BadGzipFile, OSError) as e:
            self.broken = str(e) if isinstance(e, EOFError) else f"{type(e).__name__}: {e}"
            self.tail, self._held, self._done = self._held, b"", True
            return
        if not chunk:
            self._ready += self._held
            self._held, self._done = b"", True
            return
        data = self._held + chunk
        cut = max(data.rfind(b"\n"), data.rfind(b"\r")) + 1
        self._ready += data[:cut]
        self._held = data[cut:]

    def close(self) -> None:
        self.raw.close()
        super().close()


def open_stream(path: Path) -> TolerantStream:
    """The file's bytes (``.gz`` decompressed) as a :class:`TolerantStream`."""
    raw = gzip.open(path, "rb") if path.name.lower().endswith(".gz") else open(path, "rb")
    return TolerantStream(raw)


@dataclass
class Header:
    """A delimited file's header record, as text, and what follows it."""

    fields: list[str]
    encoding: str
    delimiter: str
    has_rows: bool
    """False when nothing but blank space follows the header (an empty export)."""


def read_header(path: Path, sniff_encoding: Callable[[bytes], str], sniff_delimiter: Callable[[str], str],
                encoding: str = "auto", delimiter: str = "auto") -> Header:
    """The header record of a delimited file, read on until it ends (or the file does).

    Raises ``ValueError`` with a reason when there is no header or it cannot be decoded."""
    with open_stream(path) as f:
        sample = f.read(SNIFF_BYTES)
        while True:
            used = sniff_encoding(sample[:SNIFF_BYTES]) if encoding == "auto" else encoding
            # undecodable bytes are kept as surrogates here: only the header itself must decode
            text = codecs.getincrementaldecoder(used)(errors="surrogateescape").decode(sample, final=False)
            text = text.lstrip("\ufeff")
            end = _RECORD.match(text)
            if end is not None and text[end.end():].strip():
                break
            more = f.read(max(len(sample), SNIFF_BYTES)) if len(sample) < MAX_HEADER_BYTES else b""
            if not more:
                break
            sample += more
        broken = f.broken
    if broken and not sample:
        raise ValueError(f"the compressed file cannot be read: {broken}")
    record = text[: end.end()] if end is not None else text
    if not record.strip():
        raise ValueError("the file is empty (no header row)")
    if end is None and len(sample) >= MAX_HEADER_BYTES:
        raise ValueError(f"the header row does not end within {MAX_HEADER_BYTES >> 20} MB")
    bad = next((i for i, ch in enumerate(record) if "\udc80" <= ch <= "\udcff"), None)
    if bad is not None:
        raise ValueError(f"the header is not valid {used} text (at character {bad + 1})")
    first_line = record.splitlines()[0] if record else ""
    sep = sniff_delimiter(first_line) if delimiter == "auto" else delimiter.encode().decode("unicode_escape")
    try:
        fields = next(csv.reader(io.StringIO(record, newline=""), delimiter=sep), [])
    except csv.Error as e:
        raise ValueError(f"the header row cannot be read: {e}") from None
    rest = text[end.end():] if end is not None else ""
    return Header(fields, used, sep, bool(rest.strip()) or bool(broken))


#: The first record of a delimited text: fields outside quotes, or quoted (a line break inside
#: quotes does not end it), up to the first line break (possessive: linear, whatever the input).
_RECORD = re.compile(r'(?:[^"\r\n]++|"(?:[^"]|"")*+"?+)*+(?:\r\n|\n|\r)')


def decode_batch(table: pa.Table, header: list[str], delimiter: str) -> tuple[pa.Table, list[tuple[int, str, str]]]:
    """A batch whose file columns (``c0``, ``c1``, ...) were read as bytes, as text: ``(the table
    with string columns and only the rows that are valid UTF-8, [(row number, reason, raw text)]
    of the others)``. The batch's ``_row`` column numbers its rows."""
    names = table.column_names
    cells = [i for i, n in enumerate(names) if n.startswith("c") and n[1:].isdigit()]
    bad: dict[int, list[str]] = {}
    columns = list(table.columns)
    for i in cells:
        try:
            columns[i] = columns[i].cast(pa.string())
        except pa.ArrowInvalid:
            for j, v in enumerate(columns[i].to_pylist()):
                if v is not None and not _valid_utf8(v):
                    bad.setdefault(j, []).append(header[int(names[i][1:])])
    if not bad:
        return pa.table(columns, names=names), []
    rejects = []
    for j, columns in sorted(bad.items()):
        row = table.slice(j, 1).to_pylist()[0]
        raw = delimiter.join("" if row[names[i]] is None else _text(row[names[i]]) for i in cells)
        rejects.append((row["_row"], f"encoding: not valid UTF-8 like the rest of the file (column "
                                     f"{', '.join(repr(c) for c in columns)}); the raw text shows it read as "
                                     f"{FALLBACK_ENCODING}", raw))
    table = pc.filter(table, pa.array([j not in bad for j in range(table.num_rows)]))
    return pa.table([c.cast(pa.string()) if i in cells else c for i, c in enumerate(table.columns)],
                    names=names), rejects


def _text(value: bytes | str) -> str:
    if isinstance(value, str):
        return value
    return value.decode("utf-8") if _valid_utf8(value) else value.decode(FALLBACK_ENCODING, errors="replace")


def _valid_utf8(value: bytes) -> bool:
    try:
        value.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False
