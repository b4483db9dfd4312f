"""Reading a source file as a stream of text, with memory that does not grow with the file.

A Metrica Logs API part or a GA4 day can be several gigabytes. :func:`open_text` gives a
file's content as text read in blocks (``.gz`` decompressed on the fly, the encoding the
source's ``encoding:`` names or one sniffed from the first 64 KiB, a byte-order mark
dropped); :func:`lines` yields it line by line (split on ``\\n`` only: a ``\\r`` inside a
record stays in it). Bytes that are not valid in the encoding stop the read with an
:class:`~cjm_pipeline.errors.InputDataError` naming the file and the line, as reading the
whole file did.
"""

from __future__ import annotations

import codecs
import gzip
import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from ..config import SourceConfig
from ..errors import InputDataError
from .generic import sniff_encoding

_SNIFF = 1 << 16
#: Characters read at a time by the JSON scanner and the line reader's buffer.
BLOCK = 1 << 20


def open_binary(path: Path) -> IO[bytes]:
    """The file's bytes as a stream (``.gz`` decompressed)."""
    return gzip.open(path, "rb") if path.name.lower().endswith(".gz") else open(path, "rb")


def encoding_of(path: Path, src: SourceConfig) -> str:
    """The source's ``encoding:``, or one sniffed from the first 64 KiB (UTF-8, UTF-16 with a BOM, cp1251)."""
    if src.encoding != "auto":
        return src.encoding
    with open_binary(path) as f:
        head = f.read(_SNIFF)
    return sniff_encoding(head)


@contextmanager
def open_text(path: Path, src: SourceConfig) -> Iterator[IO[str]]:
    """The file as a text stream in its encoding, the BOM dropped; lines end at ``\\n`` only."""
    encoding = encoding_of(path, src)
    codec = codecs.lookup(encoding).name
    if codec == "utf-8":
        encoding = "utf-8-sig"  # drops a BOM
    binary = open_binary(path)
    try:
        text = io.TextIOWrapper(binary, encoding=encoding, newline="\n")
        yield text
    finally:
        binary.close()


def decode_error(path: Path, src: SourceConfig, error: UnicodeDecodeError, where: str) -> InputDataError:
    """The error for bytes the encoding cannot read, with the hint to set ``encoding:``."""
    hint = "; set `encoding:` in the source config (e.g. cp1251)" if src.encoding == "auto" else ""
    return InputDataError(src.name, str(path), f"not valid {error.encoding} text ({error.reason}) {where}{hint}")


def lines(path: Path, src: SourceConfig) -> Iterator[str]:
    """The file's lines without their ``\\n`` (a trailing ``\\r`` stays), read block by block."""
    n = 0
    with open_text(path, src) as text:
        try:
            for line in text:
                n += 1
                yield line[:-1] if line.endswith("\n") else line
        except UnicodeDecodeError as e:
            raise decode_error(path, src, e, f"after line {n}") from None
        except (OSError, EOFError) as e:  # a truncated .gz
            raise InputDataError(src.name, str(path), f"cannot read the file after line {n}: {e}") from None
