#!/usr/bin/env python3
"""Generate ``data/sample/multi/``: one set of customers seen by three real systems.

A furniture shop (``mebel.example.ru``) runs Yandex Metrica on its site, Calltouch for
call tracking and amoCRM for its sales team. Between 2025-01-01 and 2025-04-30 about
1,500 people

* visit the site (Metrica visits, one or two browsers each: one ``ClientID`` per browser),
  reach goals (catalogue, product card, cart, callback form, review) and sometimes buy
  online (Metrica e-commerce purchase);
* call the tracked number (Calltouch calls: the caller's number, written the way the
  caller's phone sends it, plus the Metrica ``ClientID`` of the session that showed the number);
* become amoCRM leads (from the callback form, carrying the ``ClientID`` in a custom field,
  or from a call), with a contact holding their phone (spelt as the manager typed it:
  ``8 (916) 123-45-67``, ``+7 916 123 45 67``) and maybe an email; managers move leads through
  the pipeline ``Продажи`` to won (142) or lost (143), sometimes reopening a lost lead;
  repeat orders go to a second pipeline, ``Повторные продажи``.

Files are written the way the systems export them, split into monthly drops as a nightly
job would collect them:

    multi/metrica/visits_2025-01.tsv ...   Logs API visits TSV (``ym:s:*``, lastsign attribution)
    multi/calltouch/calls_2025-01.json ... calls-diary API pages
    multi/amocrm/pipelines.json            pipelines and statuses
    multi/amocrm/contacts.json             contacts (API v4 page)
    multi/amocrm/leads.json                leads (API v4 page, current state)
    multi/amocrm/events_2025-01.json ...   lead status changes (events API pages)

Standard library only, seeded: the same options give byte-identical files.

    python data/sample/generate_multi.py                 # writes data/sample/multi/
    python data/sample/generate_multi.py --customers 200 --out /tmp/multi
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

DEFAULT_SEED = 20250301
MSK = timezone(timedelta(hours=3))
START = datetime(2025, 1, 1)
DAYS = 120
COUNTER_ID = 68971321
TRACKING_NUMBER = "74951500000"      # the number on the site (a company number)
REDIRECT_NUMBER = "74957770000"      # where Calltouch forwards calls (the office)
ACCOUNT_ID = 28805383

PIPELINE_SALES = 7001234
PIPELINE_REPEAT = 7001235
ST_NEW, ST_CONTACT, ST_TALKS, ST_DECISION = 61000001, 61000002, 61000003, 61000004
WON, LOST = 142, 143
ST_REPEAT_NEW = 61000011

GOALS = {"catalog": 312345601, "product": 312345602, "cart": 312345603, "callback": 312345604,
         "review": 312345605}
TRAFFIC = [  # (TrafficSource, AdvEngine, utm_source, utm_medium, utm_campaign, weight)
    ("ad", "ya_direct", "yandex", "cpc", "sofas_msk", 35),
    ("organic", "", "", "", "", 30),
    ("direct", "", "", "", "", 15),
    ("social", "", "vk", "social", "spring", 10),
    ("referral", "", "", "", "", 10),
]


@dataclass
class Person:
    n: int
    client_ids: list[str]
    phone_digits: str                 # 9XXXXXXXXX
    email: str | None
    visits: list[dict] = field(default_factory=list)
    calls: list[dict] = field(default_factory=list)
    leads: list[dict] = field(default_factory=list)


def spelled(phone: str, rng: random.Random) -> str:
    """A Russian mobile number the way people and systems write it."""
    d = phone
    return rng.choice([
        f"+7{d}", f"8{d}", f"7{d}", f"8 ({d[:3]}) {d[3:6]}-{d[6:8]}-{d[8:]}",
        f"+7 {d[:3]} {d[3:6]} {d[6:8]} {d[8:]}", f"+7 ({d[:3]}) {d[3:6]}-{d[6:8]}-{d[8:]}",
    ])


def fmt(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%d %H:%M:%S")


def epoch(ts_msk: datetime) -> int:
    return int(ts_msk.replace(tzinfo=MSK).timestamp())


def simulate(rng: random.Random, customers: int) -> list[Person]:
    people = []
    next_visit = 7234567890123400000
    next_watch = 7234567890999000000
    for n in range(customers):
        first = START + timedelta(days=rng.random() * (DAYS - 20), seconds=rng.randint(0, 86399))
        n_browsers = 1 if rng.random() < 0.8 else 2
        client_ids = [f"{epoch(first) + 1000 * b}{rng.randint(10**8, 10**9 - 1)}" for b in range(n_browsers)]
        p = Person(n, client_ids, f"9{rng.randint(10**8, 10**9 - 1)}",
                   f"client{n:05d}@{rng.choice(['mail.ru', 'yandex.ru', 'gmail.com'])}" if rng.random() < 0.55 else None)
        t = first
        stage = 0  # 0 aware, 1 interested, 2 considering, 3 lead, 4 bought
        n_sessions = rng.choice([1, 1, 2, 2, 3, 4, 5])
        lead_made = False
        for s in range(n_sessions):
            src = rng.choices(TRAFFIC, weights=[x[-1] for x in TRAFFIC])[0] if s == 0 or rng.random() < 0.5 else TRAFFIC[2]
            cid = p.client_ids[0] if s == 0 or len(p.client_ids) == 1 else rng.choice(p.client_ids)
            goals = []
            g = t + timedelta(seconds=rng.randint(20, 120))
            if stage >= 1 or rng.random() < 0.7:
                goals.append(("catalog", g))
                stage = max(stage, 1)
                if rng.random() < 0.75:
                    g += timedelta(seconds=rng.randint(30, 400))
                    goals.append(("product", g))
                    if rng.random() < 0.35:
                        g += timedelta(seconds=rng.randint(30, 300))
                        goals.append(("cart", g))
                        stage = max(stage, 2)
            purchase = None
            if stage >= 2 and not lead_made and rng.random() < 0.25:
                g += timedelta(seconds=rng.randint(60, 600))
                purchase = (f"ORD-{n:05d}-{s}", g, rng.choice([18900, 32500, 54990, 129000]))
                stage = 4
            elif stage >= 1 and not lead_made and rng.random() < 0.3:
                g += timedelta(seconds=rng.randint(30, 300))
                goals.append(("callback", g))
                lead_made = True
                p.leads.append(new_lead(rng, p, g, cid, PIPELINE_SALES, via="form"))
            if stage >= 4 and rng.random() < 0.2:
                g += timedelta(days=rng.randint(3, 15))
                goals.append(("review", g))
            start_url = "https://mebel.example.ru/" + rng.choice(["", "catalog/sofas/", "catalog/beds/", "sale/"])
            if src[2]:
                start_url += f"?utm_source={src[2]}&utm_medium={src[3]}&utm_campaign={src[4]}"
                if src[0] == "ad":
                    start_url += f"&yclid={rng.randint(10**15, 10**16 - 1)}"
            watch_ids = [str(next_watch + i) for i in range(rng.randint(1, 6))]
            next_watch += 10
            p.visits.append({"visit_id": str(next_visit), "client_id": cid, "start": t, "source": src,
                             "goals": goals, "purchase": purchase, "start_url": start_url, "watch_ids": watch_ids,
                             "duration": int((g - t).total_seconds()) + rng.randint(5, 60)})
            next_visit += 1
            # a call after seeing the number on the site
            if stage >= 1 and not lead_made and rng.random() < 0.18:
                ct = g + timedelta(minutes=rng.randint(1, 90))
                answered = rng.random() < 0.8
                p.calls.append({"time": ct, "client_id": cid, "answered": answered, "source": src,
                                "duration": rng.randint(40, 600) if answered else 0})
                stage = max(stage, 2)
                if answered and rng.random() < 0.7:
                    lead_made = True
                    p.leads.append(new_lead(rng, p, ct + timedelta(minutes=rng.randint(1, 20)), cid,
                                            PIPELINE_SALES, via="call"))
            t = g + timedelta(days=rng.expovariate(1 / 6), seconds=rng.randint(0, 86399))
            if t > START + timedelta(days=DAYS - 1):
                break
        # repeat order for some who bought (CRM win or online purchase)
        won = any(ld["final"] == WON for ld in p.leads) or any(v["purchase"] for v in p.visits)
        if won and rng.random() < 0.3:
            last = max([v["start"] for v in p.visits] + [ld["history"][-1][0] for ld in p.leads])
            rt = last + timedelta(days=rng.randint(10, 40))
            if rt < START + timedelta(days=DAYS - 1):
                p.leads.append(new_lead(rng, p, rt, rng.choice(p.client_ids), PIPELINE_REPEAT, via="form"))
        people.append(p)
    return people


_lead_counter = [4821000]


def new_lead(rng: random.Random, p: Person, created: datetime, client_id: str | None, pipeline: int, via: str) -> dict:
    _lead_counter[0] += 1
    t = created
    history = [(t, ST_NEW if pipeline == PIPELINE_SALES else ST_REPEAT_NEW)]
    if pipeline == PIPELINE_SALES:
        for st in (ST_CONTACT, ST_TALKS, ST_DECISION):
            t += timedelta(hours=rng.randint(1, 72))
            history.append((t, st))
            if rng.random() < 0.2:
                break
        t += timedelta(hours=rng.randint(2, 120))
        final = WON if rng.random() < 0.45 else LOST
        history.append((t, final))
        if final == LOST and rng.random() < 0.1:           # reopened, then won
            t += timedelta(days=rng.randint(2, 10))
            history.append((t, ST_TALKS))
            t += timedelta(hours=rng.randint(2, 48))
            history.append((t, WON))
    else:
        t += timedelta(hours=rng.randint(2, 48))
        history.append((t, WON))
    return {"id": _lead_counter[0], "created": created, "client_id": client_id, "pipeline": pipeline,
            "history": history, "final": history[-1][1], "via": via,
            "price": rng.choice([18900, 32500, 54990, 74900, 129000, 189000])}


# --------------------------------------------------------------------------- writers

VISIT_HEADER = ["ym:s:visitID", "ym:s:counterID", "ym:s:watchIDs", "ym:s:date", "ym:s:dateTime", "ym:s:isNewUser",
                "ym:s:startURL", "ym:s:pageViews", "ym:s:visitDuration", "ym:s:bounce", "ym:s:regionCity",
                "ym:s:clientID", "ym:s:lastsignTrafficSource", "ym:s:lastsignAdvEngine", "ym:s:lastsignUTMSource",
                "ym:s:lastsignUTMMedium", "ym:s:lastsignUTMCampaign", "ym:s:deviceCategory", "ym:s:goalsID",
                "ym:s:goalsSerialNumber", "ym:s:goalsDateTime", "ym:s:purchaseID", "ym:s:purchaseDateTime",
                "ym:s:purchaseRevenue"]


def month_key(ts: datetime) -> str:
    return ts.strftime("%Y-%m")


def write_metrica(people: list[Person], out: Path, rng: random.Random) -> int:
    rows: dict[str, list[tuple[datetime, str]]] = {}
    seen_clients: set[str] = set()
    for p in people:
        for v in p.visits:
            src = v["source"]
            serial: dict[str, int] = {}
            goal_ids, serials, goal_times = [], [], []
            for name, gt in v["goals"]:
                serial[name] = serial.get(name, 0) + 1
                goal_ids.append(str(GOALS[name]))
                serials.append(str(serial[name]))
                goal_times.append(f"'{fmt(gt)}'")     # UTC+3 = Moscow, the counter's zone
            pur = v["purchase"]
            new_user = "0" if v["client_id"] in seen_clients else "1"
            seen_clients.add(v["client_id"])
            fields = [
                v["visit_id"], str(COUNTER_ID), "[" + ",".join(v["watch_ids"]) + "]", v["start"].strftime("%Y-%m-%d"),
                fmt(v["start"]), new_user, v["start_url"], str(len(v["watch_ids"])), str(v["duration"]),
                "1" if len(v["watch_ids"]) == 1 and not v["goals"] else "0", rng.choice(["Moscow", "Moscow", "Khimki"]),
                v["client_id"], src[0], src[1], src[2], src[3], src[4], rng.choice(["1", "2", "2", "3"]),
                "[" + ",".join(goal_ids) + "]", "[" + ",".join(serials) + "]", "[" + ",".join(goal_times) + "]",
                f"['{pur[0]}']" if pur else "[]", f"['{fmt(pur[1])}']" if pur else "[]", f"[{pur[2]}]" if pur else "[]",
            ]
            rows.setdefault(month_key(v["start"]), []).append((v["start"], "\t".join(fields)))
    total = 0
    for month, items in sorted(rows.items()):
        items.sort()
        lines = ["\t".join(VISIT_HEADER)] + [line for _, line in items]
        if month == "2025-02":  # what the official loader warns about: a line cut short
            lines.insert(40, lines[40].rsplit("\t", 3)[0])
        (out / "metrica" / f"visits_{month}.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
        total += len(lines) - 1
    return total


def write_calltouch(people: list[Person], out: Path, rng: random.Random) -> int:
    by_month: dict[str, list[tuple[datetime, dict]]] = {}
    call_id = 123456000
    session = 987650000
    for p in people:
        for c in p.calls:
            call_id += 1
            session += 1
            src = c["source"]
            rec = {
                "callId": call_id, "callphase": "calldisconnected", "attribution": 1,
                "date": c["time"].strftime("%d/%m/%Y %H:%M:%S"), "duration": c["duration"],
                "waitingConnect": rng.randint(3, 25), "callerNumber": spelled(p.phone_digits, rng).lstrip("+").replace(
                    " ", "").replace("(", "").replace(")", "").replace("-", "") if rng.random() < 0.8
                else spelled(p.phone_digits, rng),
                "phoneNumber": TRACKING_NUMBER, "redirectNumber": REDIRECT_NUMBER,
                "successful": c["answered"], "uniqueCall": True, "targetCall": c["duration"] >= 60,
                "uniqTargetCall": c["duration"] >= 60, "callbackCall": False,
                "city": "Москва", "source": src[2] or ("(direct)" if src[0] == "direct" else "<не указано>"),
                "medium": src[3] or ("(none)" if src[0] == "direct" else "<не указано>"),
                "keyword": "", "url": "https://mebel.example.ru/catalog/sofas/",
                "callUrl": "https://mebel.example.ru/catalog/sofas/", "ref": "", "hostname": "mebel.example.ru",
                "utmSource": src[2], "utmMedium": src[3], "utmCampaign": src[4], "utmContent": "", "utmTerm": "",
                "sessionId": session, "ctCallerId": f"ct{session}", "clientId": None,
                "yaClientId": c["client_id"], "ctClientId": session * 3, "ctGlobalId": None,
                "manager": rng.choice(["Ирина Смирнова", "Олег Петров"]) if c["answered"] else "",
            }
            by_month.setdefault(month_key(c["time"]), []).append((c["time"], rec))
    total = 0
    for month, items in sorted(by_month.items()):
        items.sort(key=lambda x: (x[0], x[1]["callId"]))
        records = [r for _, r in items]
        page = {"page": 1, "pageTotal": 1, "pageSize": 1000, "recordsTotal": len(records), "records": records}
        (out / "calltouch" / f"calls_{month}.json").write_text(
            json.dumps(page, ensure_ascii=False) + "\n", encoding="utf-8")
        total += len(records)
    return total


STATUS_NAMES = {ST_NEW: "Неразобранное", ST_CONTACT: "Первичный контакт", ST_TALKS: "Переговоры",
                ST_DECISION: "Принимают решение", WON: "Успешно реализовано", LOST: "Закрыто и не реализовано"}


def write_amocrm(people: list[Person], out: Path, rng: random.Random) -> tuple[int, int, int]:
    pipelines = {"_total_items": 2, "_embedded": {"pipelines": [
        {"id": PIPELINE_SALES, "name": "Продажи", "sort": 1, "is_main": True, "account_id": ACCOUNT_ID,
         "_embedded": {"statuses": [{"id": sid, "name": name, "sort": 10 * i, "type": 1 if sid == ST_NEW else 0,
                                     "pipeline_id": PIPELINE_SALES}
                                    for i, (sid, name) in enumerate(STATUS_NAMES.items())]}},
        {"id": PIPELINE_REPEAT, "name": "Повторные продажи", "sort": 2, "is_main": False, "account_id": ACCOUNT_ID,
         "_embedded": {"statuses": [
             {"id": ST_REPEAT_NEW, "name": "Новый заказ", "sort": 10, "type": 1, "pipeline_id": PIPELINE_REPEAT},
             {"id": WON, "name": "Успешно реализовано", "sort": 10000, "type": 0, "pipeline_id": PIPELINE_REPEAT},
             {"id": LOST, "name": "Закрыто и не реализовано", "sort": 11000, "type": 0, "pipeline_id": PIPELINE_REPEAT},
         ]}},
    ]}}
    (out / "amocrm" / "pipelines.json").write_text(json.dumps(pipelines, ensure_ascii=False) + "\n",
                                                   encoding="utf-8")
    contacts, leads, events = [], [], []
    contact_id = 31000000
    event_n = 0
    for p in people:
        if not p.leads:
            continue
        contact_id += 1
        first = min(ld["created"] for ld in p.leads)
        phones = [{"value": spelled(p.phone_digits, rng), "enum_id": 1, "enum_code": "MOB"}]
        fields = [{"field_id": 3, "field_name": "Телефон", "field_code": "PHONE", "field_type": "multitext",
                   "values": phones}]
        if p.email:
            email = p.email.upper() if rng.random() < 0.1 else p.email
            fields.append({"field_id": 5, "field_name": "Email", "field_code": "EMAIL", "field_type": "multitext",
                           "values": [{"value": email, "enum_id": 7, "enum_code": "WORK"}]})
        contacts.append({"id": contact_id, "name": f"Клиент {p.n}", "first_name": "Клиент", "last_name": str(p.n),
                         "responsible_user_id": 7, "created_at": epoch(first), "updated_at": epoch(first),
                         "custom_fields_values": fields, "account_id": ACCOUNT_ID,
                         "_embedded": {"leads": [{"id": ld["id"]} for ld in p.leads], "tags": []}})
        for ld in p.leads:
            closed = ld["history"][-1][0] if ld["final"] in (WON, LOST) else None
            custom = []
            if ld["client_id"]:
                custom.append({"field_id": 881, "field_name": "ym_client_id", "field_code": None, "field_type": "text",
                               "values": [{"value": ld["client_id"]}]})
            leads.append({
                "id": ld["id"], "name": "Заявка с сайта" if ld["via"] == "form" else "Входящий звонок",
                "price": ld["price"], "responsible_user_id": 7, "group_id": 0,
                "status_id": ld["final"], "pipeline_id": ld["pipeline"], "loss_reason_id": None,
                "created_by": 0, "updated_by": 7, "created_at": epoch(ld["created"]),
                "updated_at": epoch(ld["history"][-1][0]), "closed_at": epoch(closed) if closed else None,
                "closest_task_at": None, "is_deleted": False, "custom_fields_values": custom or None,
                "score": None, "account_id": ACCOUNT_ID,
                "_embedded": {"tags": [], "companies": [], "contacts": [{"id": contact_id, "is_main": True}]},
            })
            prev = None
            for when, status in ld["history"]:
                event_n += 1
                if prev is None:
                    events.append((when, {"id": f"01hs{event_n:022d}", "type": "lead_added", "entity_id": ld["id"],
                                          "entity_type": "lead", "created_by": 0, "created_at": epoch(when),
                                          "value_before": [], "value_after": [], "account_id": ACCOUNT_ID,
                                          "_embedded": {"entity": {"id": ld["id"]}}}))
                else:
                    events.append((when, {
                        "id": f"01hs{event_n:022d}", "type": "lead_status_changed", "entity_id": ld["id"],
                        "entity_type": "lead", "created_by": 7, "created_at": epoch(when),
                        "value_before": [{"lead_status": {"id": prev, "pipeline_id": ld["pipeline"]}}],
                        "value_after": [{"lead_status": {"id": status, "pipeline_id": ld["pipeline"]}}],
                        "account_id": ACCOUNT_ID, "_embedded": {"entity": {"id": ld["id"]}}}))
                prev = status
    page = lambda kind, items: {"_page": 1, "_links": {"self": {"href": f"https://shop.amocrm.ru/api/v4/{kind}"}},  # noqa: E731
                                "_embedded": {kind: items}}
    (out / "amocrm" / "contacts.json").write_text(json.dumps(page("contacts", contacts), ensure_ascii=False)
                                                  + "\n", encoding="utf-8")
    (out / "amocrm" / "leads.json").write_text(json.dumps(page("leads", leads), ensure_ascii=False) + "\n",
                                               encoding="utf-8")
    by_month: dict[str, list] = {}
    for when, ev in sorted(events, key=lambda x: (x[0], x[1]["id"])):
        by_month.setdefault(month_key(when), []).append(ev)
    for month, items in sorted(by_month.items()):
        (out / "amocrm" / f"events_{month}.json").write_text(
            json.dumps(page("events", items), ensure_ascii=False) + "\n", encoding="utf-8")
    return len(contacts), len(leads), len(events)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--customers", type=int, default=1500)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "multi")
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    _lead_counter[0] = 4821000
    people = simulate(rng, args.customers)
    for sub in ("metrica", "calltouch", "amocrm"):
        (args.out / sub).mkdir(parents=True, exist_ok=True)
        for old in (args.out / sub).iterdir():
            old.unlink()
    visits = write_metrica(people, args.out, rng)
    calls = write_calltouch(people, args.out, rng)
    contacts, leads, events = write_amocrm(people, args.out, rng)
    print(f"{args.customers} people: {visits} visits, {calls} calls, {contacts} contacts, {leads} leads, "
          f"{events} lead events")
    digest = hashlib.sha256()
    for f in sorted(args.out.rglob("*")):
        if f.is_file():
            digest.update(f.relative_to(args.out).as_posix().encode() + b"\0" + f.read_bytes())
    print(f"sha256 of the folder: {digest.hexdigest()}")


if __name__ == "__main__":
    main()
