"""Large files are read with memory that does not grow with their size (issue 22).

A Metrica Logs API part and a JSON API page of about 2 GB are generated, then parsed to the last
record in a child process whose peak resident memory is measured (``VmHWM``); the same is
done for a file a hundred times smaller. The reader passes when the large file needs no more than
a fixed margin over the small one and stays under a cap far below the file's size. The parse is
the format's own (``registry()[fmt].parse``), every record consumed as the writer consumes them.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

GIB = 1 << 30
#: Peak RSS allowed for parsing a 2 GB file, Python, pyarrow and DuckDB imports included.
CAP_MB = 400
#: What the 2 GB file may need beyond a file a hundred times smaller.
MARGIN_MB = 64

_CHILD = textwrap.dedent("""
    import sys
    from pathlib import Path
    from cjm_pipeline.config import SourceConfig
    from cjm_pipeline.ingest.registry import registry
    fmt, path = sys.argv[1], Path(sys.argv[2])
    n = events = 0
    for record in registry()[fmt].parse(path, SourceConfig("s", fmt, str(path), timezone="UTC")):
        n = max(n, record.row)
        events += hasattr(record, "event_type")
    # VmHWM: the peak of this interpreter's own memory. ru_maxrss would not do: Linux carries it
    # over exec from the forking process (a pytest worker of 900 MiB reports 900 MiB here).
    hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
    print(n, events, int(hwm.split()[1]) // 1024)
""")


def parse_in_child(fmt: str, path: Path) -> tuple[int, int, int]:
    """``(records, events, peak RSS in MiB)`` of parsing ``path`` in a fresh interpreter."""
    out = subprocess.run([sys.executable, "-c", _CHILD, fmt, str(path)], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1])
    records, events, peak = map(int, out.stdout.split())
    return records, events, peak


def write_repeated(path: Path, head: str, block: str, size: int) -> int:
    """``head`` then ``block`` repeated until the file reaches ``size`` bytes; returns the repeats."""
    data = block.encode("utf-8")
    repeats = max(1, (size - len(head)) // len(data))
    with open(path, "wb") as f:
        f.write(head.encode("utf-8"))
        for _ in range(repeats):
            f.write(data)
    return repeats


def metrica_part(path: Path, size: int) -> int:
    """A Logs API visits part of about ``size`` bytes; returns its number of visits."""
    header = "\t".join(["ym:s:visitID", "ym:s:dateTime", "ym:s:clientID", "ym:s:startURL", "ym:s:lastTrafficSource",
                        "ym:s:goalsID", "ym:s:goalsDateTime", "ym:s:regionCity"]) + "\n"
    lines = []
    for i in range(500):
        url = f"https://shop.example.ru/catalog/item-{i}/?utm_source=yandex&utm_medium=cpc&q=" + "x" * 6000
        lines.append("\t".join([str(7000000000000000000 + i), "2025-10-09 10:00:00", str(1696470418123456789 + i), url,
                                "ad", "[312345678]", "['2025-10-09 10:01:00']", "Москва"]))
    return 500 * write_repeated(path, header, "\n".join(lines) + "\n", size)


def amocrm_page(path: Path, size: int) -> int:
    """One amoCRM leads page (a single JSON document) of about ``size`` bytes; returns its leads."""
    leads = [json.dumps({"id": 31000000 + i, "name": "Сделка " + "x" * 12000, "price": 1000 + i, "status_id": 142,
                         "pipeline_id": 7001, "created_at": 1709276818, "updated_at": 1709805600,
                         "closed_at": 1709805600, "_embedded": {"contacts": [{"id": 45000000 + i}]}},
                        ensure_ascii=False) for i in range(100)]
    head = '{"_page": 1, "_links": {"self": {"href": "https://example.amocrm.ru/api/v4/leads"}}, "_embedded": {"leads": ['
    block = ",\n".join(leads) + ",\n"
    repeats = write_repeated(path, head, block, size - 64)
    with open(path, "ab") as f:  # close the list with one more lead (no trailing comma) and the page
        f.write((leads[0] + "]}}\n").encode("utf-8"))
    return 100 * repeats + 1


@pytest.mark.slow
@pytest.mark.parametrize("fmt, make", [("metrica_visits", metrica_part), ("amocrm", amocrm_page)],
                         ids=["metrica_tsv", "amocrm_json_page"])
def test_a_2_gb_file_is_read_with_the_memory_of_a_small_one(tmp_path, fmt, make):
    small, large = tmp_path / "small", tmp_path / "large"
    expected_small = make(small, 20 << 20)
    expected_large = make(large, 2 * GIB)
    assert large.stat().st_size > 1.9 * GIB
    records_small, _, peak_small = parse_in_child(fmt, small)
    records_large, events_large, peak_large = parse_in_child(fmt, large)
    large.unlink()
    print(f"{fmt}: {records_small} records in 20 MB: peak {peak_small} MiB; {records_large} records in 2 GB: "
          f"peak {peak_large} MiB")
    assert (records_small, records_large) == (expected_small, expected_large)
    assert events_large >= records_large  # every record became events (a won lead: two)
    assert peak_large < CAP_MB, f"parsing 2 GB took {peak_large} MiB"
    assert peak_large - peak_small < MARGIN_MB, f"{peak_small} MiB for 20 MB, {peak_large} MiB for 2 GB"
