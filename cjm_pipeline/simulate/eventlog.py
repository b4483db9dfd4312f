"""A simulated world written as ONE generic event log: the CSV an analyst exports from a shop's own tracker.

``cjm simulate --template ecommerce --format generic`` walks the same people as the real
format (:func:`~cjm_pipeline.simulate.journeys.simulate_world`) and writes what the shop's
own backend logged about them, one row per event, instead of the Metrica / amoCRM / mailing
exports::

    events.csv          ts,event_type,anonymous_id,user_id,email,phone,crm_contact_id,channel,
                        utm_source,utm_medium,utm_campaign,url,revenue,order_id,order_number,device,city
    truth/records.csv   every row: person_id, signature, true stage and its defect (if any)
    truth/events.csv    the events the pipeline must load (good rows), with the true stage
    truth/paths.csv     each person's true stage path
    truth/people.csv    each person: devices, phone, e-mail, rows, stage path
    truth/world.json    the options, the counts and the line numbers of the broken rows

The rows are the shop tracker's (:mod:`cjm_pipeline.simulate.shop`: visits and their pages,
CRM orders, mailing opens and clicks, sign-ups and logins that join a person's devices and
identifiers); wall-clock time of the template's zone (Moscow), naive; UTF-8, ``\\n``.

**True stages** (:data:`LOG_STAGES`, the stages of ``configs/sample.yaml``) are the
template's stages renamed, taken from each row's signature (:data:`SIGNATURE_STAGES`):
first_contact and every later visit -> ``awareness``, catalogue -> ``interest``, cart ->
``consideration``, checkout -> ``checkout``, payment -> ``purchase`` for the person's first
order and ``repeat_purchase`` for the next ones (``order_number``); post-purchase mail and the
pages without a goal have no stage.

**Dirty rows** (``dirty=True``, the default): 5 rows with unparseable timestamps (copies of
page views), 3 rows without any identifier and 10 exact duplicates (a tracker firing twice,
1-4 rows after the original), placed at fixed fractions of the file; ``truth/records.csv``
marks each one (``defect``: ``bad_time``, ``no_identifier``, ``duplicate``; ``copy_of``: the
original's row) and ``truth/world.json`` lists their line numbers.

Only the ``ecommerce`` template has a shop log (its pages, orders and mailing); the same
options give byte-identical files.
"""

from __future__ import annotations

import json
import random
from collections import Counter, defaultdict
from pathlib import Path

from ..errors import CjmError
from .files import csv_text, iso_utc, stage_path, stamp, write_text
from .records import World
from .shop import LogRow, shop_rows

#: The header of the log.
LOG_COLUMNS = ["ts", "event_type", "anonymous_id", "user_id", "email", "phone", "crm_contact_id", "channel",
               "utm_source", "utm_medium", "utm_campaign", "url", "revenue", "order_id", "order_number", "device",
               "city"]
#: Columns that identify a person (a row with none of them is quarantined).
ID_COLUMNS = ("anonymous_id", "user_id", "email", "phone", "crm_contact_id")
#: The log's stages, in funnel order (configs/sample.yaml).
LOG_STAGES = ("awareness", "interest", "consideration", "checkout", "purchase", "repeat_purchase")
#: Signature of a written event -> its stage in the log (``purchase`` becomes ``repeat_purchase``
#: from the person's second order on); signatures not listed have no stage.
SIGNATURE_STAGES = {
    "visit": "awareness", "visit:return": "awareness",
    "goal:catalog": "interest", "goal:product": "interest", "goal:reviews": "interest",
    "goal:cart": "consideration",
    "goal:checkout": "checkout", "lead:main": "checkout",
    "purchase": "purchase", "status:main:won": "purchase",
}
#: Templates whose world has a shop log.
LOG_TEMPLATES = ("ecommerce",)
LOG_FILE = "events.csv"
SOURCE = "shop"
TRUTH_RECORD_COLUMNS = ["source", "file", "row", "record_id", "person_id", "event_type", "signature", "stage",
                        "defect", "copy_of"]
TRUTH_EVENT_COLUMNS = ["event_id", "source", "person_id", "event_ts", "event_type", "signature", "stage"]
TRUTH_PATH_COLUMNS = ["person_id", "seq", "event_ts", "stage", "event_id"]
TRUTH_PEOPLE_COLUMNS = ["person_id", "devices", "phone", "email", "city", "identified", "rows", "staged_rows",
                        "stage_path"]

BAD_TIMESTAMPS = ("31.02.2025 25:61", "not a date", "", "2025-13-45 10:00:00", "2025-02-30 24:00:00")
BAD_TS_AT = (0.04, 0.31, 0.58, 0.86, 1.0)   # fractions of the good rows (1.0 = the last line)
NO_ID_AT = (0.17, 0.49, 0.93)
DUPLICATE_AT = (0.02, 0.11, 0.22, 0.35, 0.44, 0.52, 0.63, 0.71, 0.80, 0.97)
DEFECTS = ("bad_time", "no_identifier", "duplicate")


def check_template(template: str) -> None:
    """Raise when a template has no shop log."""
    if template not in LOG_TEMPLATES:
        raise CjmError(f"format generic: template {template!r} has no shop event log "
                       f"(templates with one: {', '.join(LOG_TEMPLATES)}); use --format real")


def log_rows(world: World) -> list[LogRow]:
    """Every good row of the world's log, in time order, with its true stage and order number."""
    check_template(world.model.template)
    rows = shop_rows(world)
    _orders(rows)
    return rows


def _orders(rows: list[LogRow]) -> None:
    """Order ids in time order, each person's order number, and the true stage of every row."""
    orders: Counter = Counter()
    number = 104000
    for r in rows:
        stage = SIGNATURE_STAGES.get(r.signature)
        if r.fields["event_type"] == "purchase":
            number += 1
            orders[r.person] += 1
            r.fields["order_id"] = f"ORD-{number}"
            r.fields["order_number"] = str(orders[r.person])
            if orders[r.person] > 1:
                stage = "repeat_purchase"
        r.stage = stage


# --------------------------------------------------------------------------- dirty rows


def add_defects(rows: list[LogRow], seed: int, template: str, offset: int) -> list[LogRow]:
    """The log with its deliberately broken rows inserted (see the module docstring)."""
    rng = random.Random(f"{seed}:{template}:defects")
    n = len(rows)
    inserts: list[tuple[int, int, LogRow]] = []

    def spot(fraction: float) -> int:
        return min(n, int(fraction * n))

    page_views = [i for i, r in enumerate(rows) if r.fields["event_type"] == "page_view"]
    for k, (fraction, bad) in enumerate(zip(BAD_TS_AT, BAD_TIMESTAMPS)):
        source = rng.choice(page_views)
        copy = LogRow(rows[source].t, rows[source].person, -1, rows[source].signature, dict(rows[source].fields),
                      "bad_time", rows[source])
        copy.fields["ts"] = bad
        inserts.append((spot(fraction), k, copy))
    blanks = [("visit", "direct", "", "desktop"), ("page_view", "", "catalog/sale", "desktop"),
              ("add_to_cart", "paid_search", f"product/{rng.randrange(100, 700)}", "mobile")]
    for k, (fraction, (event_type, channel, path, device)) in enumerate(zip(NO_ID_AT, blanks)):
        at = spot(fraction)
        t = rows[min(at, n - 1)].t
        fields = {"ts": stamp(t, offset), "event_type": event_type, "channel": channel,
                  "url": f"https://tovary-shop.ru/{path}", "device": device}
        inserts.append((at, 10 + k, LogRow(t, f"nobody-{k + 1}", -1, "", {c: v for c, v in fields.items() if v},
                                           "no_identifier")))
    for k, fraction in enumerate(DUPLICATE_AT):
        source = min(spot(fraction), n - 1)
        copy = LogRow(rows[source].t, rows[source].person, -1, rows[source].signature, dict(rows[source].fields),
                      "duplicate", rows[source], rows[source].stage)
        inserts.append((source + 1 + rng.randint(0, 3), 20 + k, copy))
    inserts.sort(key=lambda item: (item[0], item[1]))
    out: list[LogRow] = []
    j = 0
    for i in range(n + 1):
        while j < len(inserts) and inserts[j][0] == i:
            out.append(inserts[j][2])
            j += 1
        if i < n:
            out.append(rows[i])
    return out


# --------------------------------------------------------------------------- files


def write_log(world: World, out: Path, options: dict, *, dirty: bool = True, truth: bool = True
              ) -> tuple[list[Path], dict]:
    """``out/events.csv`` and the truth (``truth/world.json`` always, the rest when ``truth``)."""
    offset = world.model.utc_offset_hours * 3600
    good = log_rows(world)
    for r in good:
        r.fields["ts"] = stamp(r.t, offset)
    rows = add_defects(good, world.seed, world.model.template, offset) if dirty else good
    for number, r in enumerate(rows, start=1):
        r.row = number
    files: list[Path] = []
    write_text(out / LOG_FILE, csv_text(LOG_COLUMNS, ([r.fields.get(c, "") for c in LOG_COLUMNS] for r in rows)), files)
    summary = _summary(world, rows, options, dirty)
    if truth:
        _write_truth(world, out, rows, files)
    write_text(out / "truth" / "world.json", json.dumps(summary, ensure_ascii=False, indent=2) + "\n", files)
    return files, summary


def _identified(rows: list[LogRow]) -> set[str]:
    """People with a row that carries a personal identifier (not only a cookie)."""
    return {r.person for r in rows if not r.defect and any(r.fields.get(c) for c in ID_COLUMNS[1:])}


def _summary(world: World, rows: list[LogRow], options: dict, dirty: bool) -> dict:
    good = [r for r in rows if not r.defect]
    people = {r.person for r in good}
    reached = {s: len({r.person for r in good if r.stage == s}) for s in LOG_STAGES}
    line = {d: [r.row + 1 for r in rows if r.defect == d] for d in DEFECTS}  # + 1: the header is line 1
    return {
        **options, "format": "generic", "dirty": dirty, "file": LOG_FILE, "source": SOURCE,
        "stages": list(LOG_STAGES),
        "people": len(world.people), "people_with_rows": len(people),
        "people_identified": len(_identified(rows) & people),
        "devices": len({r.fields["anonymous_id"] for r in good if r.fields.get("anonymous_id")}),
        "rows": len(rows), "good_rows": len(good), "staged_rows": sum(1 for r in good if r.stage),
        "defects": {d: len(v) for d, v in line.items()}, "defect_lines": line,
        "event_types": dict(sorted(Counter(r.fields["event_type"] for r in rows).items())),
        "people_reaching": reached,
    }


def _write_truth(world: World, out: Path, rows: list[LogRow], files: list[Path]) -> None:
    records = [(SOURCE, LOG_FILE, r.row, f"row:{r.row}", r.person, r.fields.get("event_type", ""), r.signature,
                r.stage or "", r.defect, "" if r.copy_of is None else r.copy_of.row) for r in rows]
    write_text(out / "truth" / "records.csv", csv_text(TRUTH_RECORD_COLUMNS, records), files)
    good = [r for r in rows if not r.defect]
    by_person = sorted(good, key=lambda r: (r.person, r.t, r.row))
    write_text(out / "truth" / "events.csv", csv_text(TRUTH_EVENT_COLUMNS, (
        (f"{SOURCE}:row:{r.row}", SOURCE, r.person, iso_utc(r.t), r.fields["event_type"], r.signature, r.stage or "")
        for r in by_person)), files)
    order = {s: i for i, s in enumerate(LOG_STAGES)}
    staged: dict[str, list[LogRow]] = defaultdict(list)
    for r in sorted((r for r in good if r.stage), key=lambda r: (r.person, r.t, order[r.stage], r.row)):
        staged[r.person].append(r)
    path_rows, stage_paths = [], {}
    for person, steps in staged.items():
        stage_paths[person] = stage_path([s.stage for s in steps])
        path_rows += [(person, k, iso_utc(s.t), s.stage, f"{SOURCE}:row:{s.row}") for k, s in enumerate(steps, 1)]
    write_text(out / "truth" / "paths.csv", csv_text(TRUTH_PATH_COLUMNS, path_rows), files)
    counts = Counter(r.person for r in good)
    cities = {r.person: r.fields["city"] for r in good}
    devices = defaultdict(set)
    for r in good:
        if r.fields.get("anonymous_id"):
            devices[r.person].add(r.fields["anonymous_id"])
    identified = _identified(rows)
    people = [(p.person_id, len(devices[p.person_id]), p.phone, p.email or "", cities.get(p.person_id, ""),
               int(p.person_id in identified), counts[p.person_id], len(staged[p.person_id]),
               stage_paths.get(p.person_id, "")) for p in world.people]
    write_text(out / "truth" / "people.csv", csv_text(TRUTH_PEOPLE_COLUMNS, people), files)


__all__ = ["write_log", "log_rows", "add_defects", "check_template", "LOG_COLUMNS", "LOG_STAGES", "SIGNATURE_STAGES",
           "LOG_TEMPLATES", "DEFECTS", "ID_COLUMNS"]
