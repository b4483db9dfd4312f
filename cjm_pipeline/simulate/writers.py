"""Write a simulated :class:`~cjm_pipeline.simulate.records.World` as real exports, plus the truth.

Files (``out`` is the folder given to ``cjm simulate --out``)::

    metrica/visits_YYYY-MM.tsv      Yandex Metrica Logs API visits (ym:s:*), lastsign attribution,
                                    dateTime in the counter's zone, goal and purchase times in UTC+3
    calltouch/calls_YYYY-MM.json    Calltouch calls-diary API pages; dates dd/mm/yyyy local time
    amocrm/pipelines.json           amoCRM API v4 pages: pipelines and statuses,
    amocrm/contacts.json            contacts (phones as managers typed them),
    amocrm/leads.json               leads (current state, the Metrica ClientID in a custom field),
    amocrm/events_YYYY-MM.json      lead_added and lead_status_changed events
    <source>/<source>_YYYY-MM.csv   each generic source, in its own dialect (delimiter, encoding,
                                    time format, headers)
    truth/records.csv               every written record: source, file, row (the record number the
                                    ingestors give: data line, or element of the JSON list),
                                    record_id and the true person_id
    truth/events.csv                every event the pipeline will make of the files: its event_id
                                    (with the source prefix, as in the ``events`` table), source,
                                    person_id, event_ts (UTC), event_type, signature and true stage
    truth/paths.csv                 each person's staged events in order (event_ts, stage order,
                                    event_id): the true stage path
    truth/people.csv                each person: devices, phone, e-mail, shared phones, events
    truth/feedback.csv              each survey answer: event_id, person, time, the stage the person was
                                    in, the score and how many pains they had met (simulate/feelings.py)
    truth/pains.csv                 each pain met: event_id, person, time, stage and the pain's name
    truth/world.json                the options and the counts

Every file is written in a fixed order with fixed formatting, so the same world gives
byte-identical files. Records of staff (test calls from the office) have a person id of
their own (``staff-call-<id>``): they are nobody's customer.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from .files import csv_text, iso_utc, stage_path, stamp, write_text
from .model import LOST_STATUS, WON_STATUS, GenericSource, WorldModel
from .records import Call, Contact, Lead, Row, Visit, World

VISIT_HEADER = ["ym:s:visitID", "ym:s:counterID", "ym:s:watchIDs", "ym:s:date", "ym:s:dateTime", "ym:s:isNewUser",
                "ym:s:startURL", "ym:s:pageViews", "ym:s:visitDuration", "ym:s:bounce", "ym:s:regionCity",
                "ym:s:clientID", "ym:s:lastsignTrafficSource", "ym:s:lastsignAdvEngine", "ym:s:lastsignUTMSource",
                "ym:s:lastsignUTMMedium", "ym:s:lastsignUTMCampaign", "ym:s:deviceCategory", "ym:s:goalsID",
                "ym:s:goalsSerialNumber", "ym:s:goalsDateTime", "ym:s:purchaseID", "ym:s:purchaseDateTime",
                "ym:s:purchaseRevenue"]

#: Columns of ``truth/records.csv``, ``truth/events.csv``, ``truth/paths.csv``, ``truth/people.csv``.
RECORD_COLUMNS = ["source", "file", "row", "record_id", "person_id"]
EVENT_COLUMNS = ["event_id", "source", "person_id", "event_ts", "event_type", "signature", "stage"]
PATH_COLUMNS = ["person_id", "seq", "event_ts", "stage", "event_id"]
PEOPLE_COLUMNS = ["person_id", "devices", "phone", "email", "company_phone", "shares_phone_with", "records",
                  "events", "staged_events", "stage_path"]
FEEDBACK_COLUMNS = ["event_id", "person_id", "event_ts", "stage", "score", "pains"]
PAIN_COLUMNS = ["event_id", "person_id", "event_ts", "stage", "pain"]

UTC3 = 3 * 3600


@dataclass
class Truth:
    """What the writers learned while writing: records, events and the files."""

    records: list[tuple[str, str, int, str, str]] = field(default_factory=list)
    events: dict[str, tuple[str, str, int, str, str, str | None]] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)

    def event(self, event_id: str, source: str, person: str, ts: int, event_type: str, signature: str,
              stage: str | None) -> None:
        """One event; the same event_id written twice (a lead in leads.json and in the events
        file) is one event, as in the pipeline."""
        self.events.setdefault(event_id, (source, person, ts, event_type, signature, stage))


def _month(t: int, offset: int) -> str:
    return dt.datetime.fromtimestamp(t + offset, dt.timezone.utc).strftime("%Y-%m")


def _rel(path: Path, out: Path) -> str:
    return path.relative_to(out).as_posix()


# --------------------------------------------------------------------------- Metrica


def write_metrica(world: World, out: Path, truth: Truth) -> None:
    m = world.model
    offset = m.utc_offset_hours * 3600
    rng = random.Random(f"{world.seed}:{m.template}:metrica")
    by_month: dict[str, list[Visit]] = defaultdict(list)
    for v in world.visits:
        by_month[_month(v.start, offset)].append(v)
    watch = 7234567890999000001
    for month in sorted(by_month):
        visits = sorted(by_month[month], key=lambda v: (v.start, v.visit_id))
        lines = ["\t".join(VISIT_HEADER)]
        path = out / "metrica" / f"visits_{month}.tsv"
        for row, v in enumerate(visits, start=1):
            lines.append(_visit_line(world, v, rng, watch, offset))
            watch += v.pages + 10
            truth.records.append(("metrica", _rel(path, out), row, str(v.visit_id), v.person))
            _visit_events(m, v, truth)
        write_text(path, "\n".join(lines) + "\n", truth.files)


def _visit_line(world: World, v: Visit, rng: random.Random, first_watch: int, offset: int) -> str:
    web = world.model.web
    traffic = v.traffic
    serial: dict[str, int] = defaultdict(int)
    goal_ids, serials, goal_times = [], [], []
    for key, t in v.goals:
        serial[key] += 1
        goal_ids.append(str(web.goals[key][0]))
        serials.append(str(serial[key]))
        goal_times.append(f"'{stamp(t, UTC3)}'")
    url = f"https://{web.host}/{v.landing}"
    if traffic[2]:
        url += f"?utm_source={traffic[2]}&utm_medium={traffic[3]}&utm_campaign={traffic[4]}"
        if traffic[0] == "ad":
            url += f"&yclid={rng.randrange(10**15, 10**16)}"
    pages = v.pages + len(v.goals)
    watch_ids = ",".join(str(first_watch + i) for i in range(pages))
    purchases = v.purchases
    fields = [
        str(v.visit_id), str(web.counter_id), f"[{watch_ids}]", stamp(v.start, offset)[:10], stamp(v.start, offset),
        "1" if v.new else "0", url, str(pages), str(v.last - v.start + rng.randint(5, 90)),
        "1" if pages == 1 and not v.goals else "0", rng.choice(["Moscow", "Moscow", "Khimki", "Saint Petersburg"]),
        v.client_id, traffic[0], traffic[1], traffic[2], traffic[3], traffic[4], rng.choice(["1", "2", "2", "3"]),
        "[" + ",".join(goal_ids) + "]", "[" + ",".join(serials) + "]", "[" + ",".join(goal_times) + "]",
        "[" + ",".join(f"'{p[0]}'" for p in purchases) + "]",
        "[" + ",".join(f"'{stamp(p[1], UTC3)}'" for p in purchases) + "]",
        "[" + ",".join(str(p[2]) for p in purchases) + "]",
    ]
    return "\t".join(fields)


def _visit_events(m: WorldModel, v: Visit, truth: Truth) -> None:
    sig = "visit" if v.new else "visit:return"
    truth.event(f"metrica:visit:{v.visit_id}", "metrica", v.person, v.start, "visit", sig, m.stage_of(sig))
    serial: dict[str, int] = defaultdict(int)
    for key, t in v.goals:
        serial[key] += 1
        goal_id = m.web.goals[key][0]
        truth.event(f"metrica:visit:{v.visit_id}:goal:{goal_id}:{serial[key]}", "metrica", v.person, t, "goal",
                    f"goal:{key}", m.stage_of(f"goal:{key}"))
    for purchase_id, t, _ in v.purchases:
        truth.event(f"metrica:visit:{v.visit_id}:purchase:{purchase_id}", "metrica", v.person, t, "purchase",
                    "purchase", m.stage_of("purchase"))


# --------------------------------------------------------------------------- Calltouch


def write_calltouch(world: World, out: Path, truth: Truth) -> None:
    m = world.model
    calls_model = m.calls
    offset = m.utc_offset_hours * 3600
    by_month: dict[str, list[Call]] = defaultdict(list)
    for c in world.calls:
        by_month[_month(c.time, offset)].append(c)
    host = m.web.host if m.web else m.domain
    for month in sorted(by_month):
        calls = sorted(by_month[month], key=lambda c: (c.time, c.call_id))
        path = out / "calltouch" / f"calls_{month}.json"
        records = []
        for row, c in enumerate(calls, start=1):
            traffic = c.traffic or ("", "", "", "", "")
            local = dt.datetime.fromtimestamp(c.time + offset, dt.timezone.utc)
            records.append({
                "callId": c.call_id, "callphase": "calldisconnected", "attribution": 1,
                "date": local.strftime("%d/%m/%Y %H:%M:%S"), "duration": c.duration,
                "waitingConnect": 3 + c.call_id % 20, "callerNumber": c.caller,
                "phoneNumber": calls_model.tracking_number, "redirectNumber": calls_model.redirect_number,
                "successful": c.answered, "uniqueCall": True, "targetCall": c.duration >= 60,
                "uniqTargetCall": c.duration >= 60, "callbackCall": False,
                "city": "Москва" if m.utc_offset_hours == 3 else "Екатеринбург",
                "source": traffic[2] or ("(direct)" if c.traffic else "<не указано>"),
                "medium": traffic[3] or ("(none)" if c.traffic else "<не указано>"),
                "keyword": "", "url": f"https://{host}/" if c.ya_client_id else "",
                "callUrl": f"https://{host}/" if c.ya_client_id else "", "ref": "", "hostname": host,
                "utmSource": traffic[2], "utmMedium": traffic[3], "utmCampaign": traffic[4], "utmContent": "",
                "utmTerm": "", "sessionId": c.session_id, "ctCallerId": None, "clientId": None,
                "yaClientId": c.ya_client_id, "ctClientId": c.ct_client_id, "ctGlobalId": None,
                "manager": c.manager,
            })
            truth.records.append(("calltouch", _rel(path, out), row, str(c.call_id), c.person))
            truth.event(f"calltouch:call:{c.call_id}", "calltouch", c.person, c.time, "call", "call", m.stage_of("call"))
        page = {"page": 1, "pageTotal": 1, "pageSize": max(1000, len(records)), "recordsTotal": len(records),
                "records": records}
        write_text(path, json.dumps(page, ensure_ascii=False) + "\n", truth.files)


# --------------------------------------------------------------------------- amoCRM


def _amo_page(kind: str, subdomain: str, items: list) -> dict:
    return {"_page": 1, "_links": {"self": {"href": f"https://{subdomain}.amocrm.ru/api/v4/{kind}"}},
            "_embedded": {kind: items}}


def write_amocrm(world: World, out: Path, truth: Truth) -> None:
    m = world.model
    crm = m.crm
    offset = m.utc_offset_hours * 3600
    rng = random.Random(f"{world.seed}:{m.template}:amocrm")
    pipelines = []
    for sort, p in enumerate(crm.pipelines, start=1):
        statuses = [{"id": sid, "name": name, "sort": 10 * (i + 1), "type": 1 if i == 0 else 0,
                     "pipeline_id": p.pipeline_id} for i, (_, sid, name) in enumerate(p.statuses)]
        statuses += [{"id": WON_STATUS, "name": "Успешно реализовано", "sort": 10000, "type": 0,
                      "pipeline_id": p.pipeline_id},
                     {"id": LOST_STATUS, "name": "Закрыто и не реализовано", "sort": 11000, "type": 0,
                      "pipeline_id": p.pipeline_id}]
        pipelines.append({"id": p.pipeline_id, "name": p.name, "sort": sort, "is_main": sort == 1,
                          "account_id": crm.account_id, "_embedded": {"statuses": statuses}})
    doc = {"_total_items": len(pipelines), "_embedded": {"pipelines": pipelines}}
    write_text(out / "amocrm" / "pipelines.json", json.dumps(doc, ensure_ascii=False) + "\n", truth.files)

    contacts = sorted(world.contacts, key=lambda c: c.contact_id)
    path = out / "amocrm" / "contacts.json"
    items = []
    for row, c in enumerate(contacts, start=1):
        items.append(_contact_json(c, crm.account_id))
        truth.records.append(("amocrm", _rel(path, out), row, f"contact:{c.contact_id}", c.person))
        truth.event(f"amocrm:contact:{c.contact_id}:created", "amocrm", c.person, c.created, "contact_created",
                    "contact", m.stage_of("contact"))
    write_text(path, json.dumps(_amo_page("contacts", crm.subdomain, items), ensure_ascii=False) + "\n", truth.files)

    leads = sorted(world.leads, key=lambda ld: ld.lead_id)
    path = out / "amocrm" / "leads.json"
    items = []
    for row, lead in enumerate(leads, start=1):
        items.append(_lead_json(m, lead, rng))
        truth.records.append(("amocrm", _rel(path, out), row, f"lead:{lead.lead_id}", lead.person))
    write_text(path, json.dumps(_amo_page("leads", crm.subdomain, items), ensure_ascii=False) + "\n", truth.files)

    events = []
    for lead in leads:
        pipeline = crm.pipeline(lead.pipeline)
        prev = None
        for t, status in lead.history:
            sid = pipeline.status_id(status)
            if prev is None:
                sig = f"lead:{lead.pipeline}"
                events.append((t, "lead_added", lead, None, sid))
                truth.event(f"amocrm:lead:{lead.lead_id}:created", "amocrm", lead.person, t, "lead_created", sig,
                            m.stage_of(sig))
            else:
                sig = f"status:{lead.pipeline}:{status}"
                events.append((t, "lead_status_changed", lead, prev, sid))
                truth.event(f"amocrm:lead:{lead.lead_id}:status:{sid}:{t}", "amocrm", lead.person, t,
                            "deal_stage_changed", sig, m.stage_of(sig))
            prev = sid
    events.sort(key=lambda e: (e[0], e[2].lead_id, e[1]))
    by_month: dict[str, list] = defaultdict(list)
    for n, (t, kind, lead, before, after) in enumerate(events, start=1):
        by_month[_month(t, offset)].append((n, t, kind, lead, before, after))
    for month in sorted(by_month):
        path = out / "amocrm" / f"events_{month}.json"
        items = []
        for row, (n, t, kind, lead, before, after) in enumerate(by_month[month], start=1):
            pid = crm.pipeline(lead.pipeline).pipeline_id
            event = {"id": f"01hs{n:022d}", "type": kind, "entity_id": lead.lead_id, "entity_type": "lead",
                     "created_by": 0 if kind == "lead_added" else 7, "created_at": t,
                     "value_before": [] if before is None else [{"lead_status": {"id": before, "pipeline_id": pid}}],
                     "value_after": [] if kind == "lead_added" else [{"lead_status": {"id": after, "pipeline_id": pid}}],
                     "account_id": crm.account_id, "_embedded": {"entity": {"id": lead.lead_id}}}
            items.append(event)
            truth.records.append(("amocrm", _rel(path, out), row, f"event:{event['id']}", lead.person))
        write_text(path, json.dumps(_amo_page("events", crm.subdomain, items), ensure_ascii=False) + "\n", truth.files)


def _contact_json(c: Contact, account_id: int) -> dict:
    fields = []
    if c.phones:
        fields.append({"field_id": 3, "field_name": "Телефон", "field_code": "PHONE", "field_type": "multitext",
                       "values": [{"value": p, "enum_id": 1, "enum_code": "MOB" if i == 0 else "WORK"}
                                  for i, p in enumerate(c.phones)]})
    if c.emails:
        fields.append({"field_id": 5, "field_name": "Email", "field_code": "EMAIL", "field_type": "multitext",
                       "values": [{"value": e, "enum_id": 7, "enum_code": "WORK"} for e in c.emails]})
    if c.client_ids:
        fields.append({"field_id": 881, "field_name": "ym_client_id", "field_code": None, "field_type": "text",
                       "values": [{"value": cid} for cid in c.client_ids]})
    first, _, last = c.name.partition(" ")
    return {"id": c.contact_id, "name": c.name, "first_name": first, "last_name": last, "responsible_user_id": 7,
            "created_at": c.created, "updated_at": c.created, "custom_fields_values": fields or None,
            "account_id": account_id, "_embedded": {"leads": [{"id": i} for i in c.lead_ids], "tags": []}}


def _lead_json(m: WorldModel, lead: Lead, rng: random.Random) -> dict:
    crm = m.crm
    pipeline = crm.pipeline(lead.pipeline)
    last_t = lead.history[-1][0]
    custom = None
    if lead.ym_client_id:
        custom = [{"field_id": 881, "field_name": "ym_client_id", "field_code": None, "field_type": "text",
                   "values": [{"value": lead.ym_client_id}]}]
    return {"id": lead.lead_id, "name": lead.name, "price": lead.price, "responsible_user_id": 7, "group_id": 0,
            "status_id": pipeline.status_id(lead.status), "pipeline_id": pipeline.pipeline_id,
            "loss_reason_id": None, "created_by": 0, "updated_by": 7, "created_at": lead.created,
            "updated_at": last_t, "closed_at": last_t if lead.closed else None, "closest_task_at": None,
            "is_deleted": False, "custom_fields_values": custom, "score": None, "account_id": crm.account_id,
            "_embedded": {"tags": [], "companies": [],
                          "contacts": [{"id": c, "is_main": i == 0} for i, c in enumerate(lead.contact_ids)]}}


# --------------------------------------------------------------------------- generic sources


def _generic_time(t: int, offset: int, fmt: str) -> str:
    local = dt.datetime.fromtimestamp(t + offset, dt.timezone.utc)
    if fmt == "dmy":
        return local.strftime("%d.%m.%Y %H:%M:%S")
    if fmt == "local":
        return local.strftime("%Y-%m-%d %H:%M:%S")
    sign = "+" if offset >= 0 else "-"
    return local.strftime("%Y-%m-%dT%H:%M:%S") + f"{sign}{abs(offset) // 3600:02d}:00"


def generic_columns(src: GenericSource, model: WorldModel) -> list[str]:
    """The unified columns of a generic source's files, in file order (before renaming)."""
    props = list(src.properties)
    for ev in src.events.values():
        for variant in ev.variants.values():
            props += [k for k in variant if k not in props]
    has_channel = any(ev.channel for ev in src.events.values())
    has_revenue = any(ev.revenue for ev in src.events.values())
    return (["event_id", "event_time", "event_type", *src.ids] + (["channel"] if has_channel else [])
            + (["revenue"] if has_revenue else []) + props)


def _revenue_text(value: int, fmt: str) -> str:
    if fmt == "dmy":  # 1C style: digit groups and a decimal comma
        return f"{value:,}".replace(",", " ") + ",00"
    return f"{value}.00"


def write_generic(world: World, src: GenericSource, out: Path, truth: Truth) -> None:
    m = world.model
    offset = m.utc_offset_hours * 3600
    columns = generic_columns(src, m)
    header = [src.headers.get(c, c) for c in columns]
    by_month: dict[str, list[Row]] = defaultdict(list)
    for r in world.rows:
        if r.source == src.name:
            by_month[_month(r.time, offset)].append(r)
    for month in sorted(by_month):
        rows = sorted(by_month[month], key=lambda r: (r.time, r.event_id))
        path = out / src.name / f"{src.name}_{month}.csv"
        buf = io.StringIO()
        writer = csv.writer(buf, delimiter=src.delimiter, lineterminator="\n")
        writer.writerow(header)
        for n, r in enumerate(rows, start=1):
            values = {"event_id": r.event_id, "event_time": _generic_time(r.time, offset, src.time_format),
                      "event_type": r.event_type, "channel": r.channel or "",
                      "revenue": _revenue_text(r.revenue, src.time_format) if r.revenue is not None else "",
                      **r.ids, **r.properties}
            writer.writerow([values.get(c, "") for c in columns])
            truth.records.append((src.name, _rel(path, out), n, r.event_id, r.person))
            truth.event(f"{src.name}:{r.event_id}", src.name, r.person, r.time, r.event_type, r.signature,
                        m.stage_of(r.signature))
        write_text(path, buf.getvalue(), truth.files, encoding=src.encoding)


# --------------------------------------------------------------------------- truth


def write_truth(world: World, out: Path, truth: Truth, options: dict) -> dict:
    """The ground-truth files; returns the counts written to ``truth/world.json``."""
    m = world.model
    order = {name: i for i, name in enumerate(m.stage_names)}
    records = sorted(truth.records, key=lambda r: (r[0], r[1], r[2]))
    write_text(out / "truth" / "records.csv", csv_text(RECORD_COLUMNS, records), truth.files)
    events = sorted(truth.events.items(), key=lambda kv: (kv[1][1], kv[1][2], kv[0]))
    write_text(out / "truth" / "events.csv", csv_text(EVENT_COLUMNS, (
        (eid, src, person, iso_utc(ts), etype, sig, stage or "") for eid, (src, person, ts, etype, sig, stage) in events
    )), truth.files)
    paths: dict[str, list[tuple[int, int, str, str]]] = defaultdict(list)
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for r in records:
        counts[r[4]][0] += 1
    for eid, (_, person, ts, _, _, stage) in events:
        counts[person][1] += 1
        if stage is not None:
            counts[person][2] += 1
            paths[person].append((ts, order[stage], eid, stage))
    path_rows = []
    stage_paths = {}
    for person in sorted(paths):
        steps = sorted(paths[person])
        stage_paths[person] = stage_path([s[3] for s in steps])
        path_rows += [(person, k, iso_utc(ts), stage, eid) for k, (ts, _, eid, stage) in enumerate(steps, start=1)]
    write_text(out / "truth" / "paths.csv", csv_text(PATH_COLUMNS, path_rows), truth.files)
    people_rows = [(p.person_id, p.devices, p.phone, p.email or "", p.company_phone and "+7" + p.company_phone or "",
                    p.shares_phone_with or "", *counts[p.person_id], stage_paths.get(p.person_id, ""))
                   for p in world.people]
    write_text(out / "truth" / "people.csv", csv_text(PEOPLE_COLUMNS, people_rows), truth.files)
    if m.feelings:  # the survey answers and pains (simulate/feelings.py), with the stage the person was in
        answers = sorted(world.answers, key=lambda a: (a.person, a.time, a.event_id))
        write_text(out / "truth" / "feedback.csv", csv_text(FEEDBACK_COLUMNS, (
            (a.event_id, a.person, iso_utc(a.time), a.stage, a.score, a.pains) for a in answers)), truth.files)
        hits = sorted(world.pain_hits, key=lambda h: (h.person, h.time, h.event_id))
        write_text(out / "truth" / "pains.csv", csv_text(PAIN_COLUMNS, (
            (h.event_id, h.person, iso_utc(h.time), h.stage, h.pain) for h in hits)), truth.files)
    summary = {
        **options,
        "stages": m.stage_names,
        "sources": m.source_names(),
        "people": len(world.people),
        "people_with_records": sum(1 for p in world.people if counts[p.person_id][0]),
        "records": len(records),
        "events": len(events),
        "staged_events": sum(len(v) for v in paths.values()),
        "records_by_source": {s: sum(1 for r in records if r[0] == s) for s in m.source_names()},
        "answers": len(world.answers),
        "pains": len(world.pain_hits),
        "files": len(truth.files) + 1,
    }
    write_text(out / "truth" / "world.json", json.dumps(summary, ensure_ascii=False, indent=2) + "\n", truth.files)
    return summary


def write_world(world: World, out: Path, options: dict) -> tuple[Truth, dict]:
    """Every export of the world and the truth files under ``out``."""
    truth = Truth()
    m = world.model
    if m.web:
        write_metrica(world, out, truth)
    if m.calls:
        write_calltouch(world, out, truth)
    if m.crm:
        write_amocrm(world, out, truth)
    for src in m.generic:
        write_generic(world, src, out, truth)
    summary = write_truth(world, out, truth, options)
    return truth, summary


__all__ = ["write_world", "generic_columns", "RECORD_COLUMNS", "EVENT_COLUMNS", "PATH_COLUMNS", "PEOPLE_COLUMNS",
           "FEEDBACK_COLUMNS", "PAIN_COLUMNS"]
