"""Benchmark data: a year of generic events from four sources, as Parquet, at any size.

:func:`make_world` is the one entry point (so it can later be switched to
``cjm_pipeline.simulate``'s Parquet scale mode). It writes ``generic_events`` files for four
sources (``web``, ``crm``, ``calls``, ``offline``), 365 days of history from 2025-01-01 (UTC),
plus one more day (2026-01-01) in separate files for the nightly incremental run.

The people behind the events:

* **Skew.** Sessions per person follow a Zipf law (exponent 2, capped at 400): about 60 % of
  people come once, a long tail comes hundreds of times. Gaps between sessions are
  exponential with a per-person mean (log-normal around three days); sessions after the
  horizon are cut.
* **Web sessions** walk a Markov chain over ``visit`` → ``page_view`` / ``catalog_view`` /
  ``product_view`` → ``add_to_cart`` → ``checkout`` → ``purchase`` with exits, back-steps
  and skips. Each session uses one of the person's one to three cookies (``anonymous_id``,
  Metrica-like ClientIDs), so unidentified people with several devices stay split.
* **Calls** (``call`` / ``call_missed``, by phone, sometimes with the call-tracking cookie)
  and **offline** store visits and purchases (phone or e-mail, times rounded to the hour so
  a visit and a purchase share an instant) are sessions of their own.
* **CRM** events (``lead_created`` after a checkout or a call, ``deal_won`` after a
  purchase, ``deal_lost``, unstaged ``email_open``) carry ``crm_contact_id`` with the
  person's phone and e-mail.
* People who check out, call or visit a store are identified; their checkout/purchase
  hits (and 5 % of their other hits) carry the e-mail or phone, which is what stitches
  cookies, calls, CRM contacts and store purchases into one customer.

Generation is vectorised numpy in chunks of :data:`CUSTOMERS_PER_CHUNK` people, so memory
stays constant whatever the size; each chunk has its own generator seeded by
``(seed, chunk number)``, so the same seed gives the same files. The history is cut after
the person whose events reach ``n_events``, so a world holds at least ``n_events`` history
events (``World.events`` has the exact count).

    .venv/bin/python -m benchmarks.data 1M build/bench/data/1M
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

#: Bump when the generator changes, so cached worlds are regenerated.
GENERATOR_VERSION = 2
DEFAULT_SEED = 20250101
SOURCES = ("web", "crm", "calls", "offline")
START = dt.datetime(2025, 1, 1)
DAY = 86_400
HISTORY_DAYS = 365
HORIZON = (HISTORY_DAYS + 1) * DAY  # the history plus the one new day, in seconds from START
CUSTOMERS_PER_CHUNK = 40_000
MAX_SESSIONS = 400
MAX_SESSION_EVENTS = 60

#: Web event types, in the order of the states of the session chain (EXIT ends a session).
WEB_TYPES = ("visit", "page_view", "catalog_view", "product_view", "add_to_cart", "checkout", "purchase")
EXIT = len(WEB_TYPES)
CHECKOUT, PURCHASE = WEB_TYPES.index("checkout"), WEB_TYPES.index("purchase")
#: Row = from-state, column = to-state (the WEB_TYPES, then exit); rows sum to 1.
WEB_MOVES = np.array([
    # visit page  cat   prod  cart  chk   buy   exit
    [0.00, 0.30, 0.25, 0.15, 0.00, 0.00, 0.00, 0.30],  # visit
    [0.00, 0.30, 0.15, 0.15, 0.00, 0.00, 0.00, 0.40],  # page_view
    [0.00, 0.10, 0.15, 0.45, 0.00, 0.00, 0.00, 0.30],  # catalog_view
    [0.00, 0.10, 0.15, 0.30, 0.12, 0.00, 0.00, 0.33],  # product_view
    [0.00, 0.05, 0.05, 0.25, 0.05, 0.30, 0.00, 0.30],  # add_to_cart
    [0.00, 0.02, 0.00, 0.10, 0.05, 0.00, 0.60, 0.23],  # checkout
    [0.00, 0.30, 0.05, 0.05, 0.00, 0.00, 0.00, 0.60],  # purchase
])
SESSION_KINDS = ("web", "call", "offline")
SESSION_KIND_P = (0.88, 0.07, 0.05)
CHANNELS = ("organic", "direct", "cpc", "social", "email", "referral")
CHANNEL_P = (0.32, 0.22, 0.22, 0.10, 0.08, 0.06)
UTM = {"cpc": ("yandex", "cpc"), "social": ("vk", "social"), "email": ("newsletter", "email")}
CAMPAIGNS = ("spring_sale", "summer", "back_to_school", "black_friday", "new_year")
DEVICES = ("desktop", "mobile", "tablet")
CITIES = ("Москва", "Санкт-Петербург", "Екатеринбург", "Новосибирск", "Казань", "Нижний Новгород", "Самара")
CITY_P = (0.40, 0.18, 0.10, 0.10, 0.08, 0.08, 0.06)
STORES = ("store_01", "store_02", "store_03", "store_04")
MANAGERS = ("anna", "boris", "olga", "pavel", "irina")
DOMAINS = ("mail.ru", "yandex.ru", "gmail.com", "bk.ru", "inbox.ru")
N_PRODUCTS, N_CATEGORIES, N_PAGES = 2000, 20, 50
#: Mobile prefixes 900-999 without 930 (not a valid range for libphonenumber).
MOBILE_PREFIXES = np.array([p for p in range(900, 1000) if p != 930], dtype=np.int64)
#: URL vocabulary: '/', the pages, the catalog, the products, then the cart/checkout pages.
URLS = (["/"] + [f"/page/{i}" for i in range(N_PAGES)] + [f"/catalog/{i}" for i in range(N_CATEGORIES)]
        + [f"/product/{i}" for i in range(N_PRODUCTS)] + ["/cart", "/checkout", "/checkout/success"])
_URL_BASE = {1: 1, 2: 1 + N_PAGES, 3: 1 + N_PAGES + N_CATEGORIES}
_URL_FIXED = {0: 0, 4: len(URLS) - 3, 5: len(URLS) - 2, 6: len(URLS) - 1}

_TS = pa.timestamp("s")
SCHEMAS = {
    "web": pa.schema([("event_time", _TS), ("event_type", pa.string()), ("event_id", pa.int64()),
                      ("anonymous_id", pa.int64()), ("email", pa.string()), ("phone", pa.int64()),
                      ("channel", pa.string()), ("utm_source", pa.string()), ("utm_medium", pa.string()),
                      ("utm_campaign", pa.string()), ("url", pa.string()), ("revenue", pa.float64()),
                      ("device", pa.string()), ("city", pa.string())]),
    "crm": pa.schema([("event_time", _TS), ("event_type", pa.string()), ("event_id", pa.int64()),
                      ("crm_contact_id", pa.int64()), ("phone", pa.int64()), ("email", pa.string()),
                      ("revenue", pa.float64()), ("manager", pa.string())]),
    "calls": pa.schema([("event_time", _TS), ("event_type", pa.string()), ("event_id", pa.int64()),
                        ("phone", pa.int64()), ("anonymous_id", pa.int64()), ("channel", pa.string()),
                        ("duration_s", pa.int64())]),
    "offline": pa.schema([("event_time", _TS), ("event_type", pa.string()), ("event_id", pa.int64()),
                          ("phone", pa.int64()), ("email", pa.string()), ("revenue", pa.float64()),
                          ("store", pa.string())]),
}

#: The benchmark's journey: stage name -> event types (list order = funnel order).
STAGE_RULES = (
    ("awareness", ("visit", "store_visit")),
    ("interest", ("catalog_view", "product_view")),
    ("consideration", ("add_to_cart", "call", "lead_created")),
    ("checkout", ("checkout",)),
    ("purchase", ("purchase", "deal_won", "offline_purchase")),
)


@dataclass(frozen=True)
class World:
    """The files of a generated world and what is in them."""

    root: Path
    seed: int
    n_events: int
    """The size asked for."""
    events: int
    """History events written (at least ``n_events``)."""
    next_day_events: int
    people: int
    chunks: int
    start: str
    """First day of the history (UTC)."""
    next_day: str
    """The day after the history, in the ``next_day`` files."""

    def history_dir(self, source: str) -> Path:
        """The folder of a source's 365 days of history files."""
        return self.root / source / "history"

    def next_day_dir(self, source: str) -> Path:
        """The folder holding a source's one file of the next day."""
        return self.root / source / "next_day"

    def history_files(self) -> list[Path]:
        """Every history file of every source."""
        return sorted(p for s in SOURCES for p in self.history_dir(s).glob("*.parquet"))


def make_world(n_events: int, out_dir: str | Path, seed: int = DEFAULT_SEED) -> World:
    """Generate (or reuse, when ``out_dir`` already holds it) a world of ``n_events`` history events."""
    root = Path(out_dir).resolve()
    manifest = root / "manifest.json"
    if manifest.exists():
        saved = json.loads(manifest.read_text())
        if saved.get("version") == GENERATOR_VERSION and saved["seed"] == seed and saved["n_events"] == n_events:
            return World(**{k: v for k, v in saved.items() if k != "version"} | {"root": root})
    for source in SOURCES:
        shutil.rmtree(root / source, ignore_errors=True)
        (root / source / "history").mkdir(parents=True)
        (root / source / "next_day").mkdir(parents=True)
    next_day_writers = {s: pq.ParquetWriter(root / s / "next_day" / "day-2026-01-01.parquet", SCHEMAS[s])
                        for s in SOURCES}
    events = next_day_events = people = chunk = 0
    try:
        while events < n_events:
            rng = np.random.default_rng([seed, chunk])
            tables, times, owners = generate_chunk(rng, chunk, chunk * CUSTOMERS_PER_CHUNK, CUSTOMERS_PER_CHUNK)
            keep_people = _people_to_keep(times, owners, n_events - events)
            for source in SOURCES:
                t, keep = times[source], owners[source] < keep_people
                history, new_day = keep & (t < HISTORY_DAYS * DAY), keep & (t >= HISTORY_DAYS * DAY)
                events += int(history.sum())
                next_day_events += int(new_day.sum())
                _write_sorted(tables[source], t, history, root / source / "history" / f"part-{chunk:05d}.parquet")
                if new_day.any():
                    next_day_writers[source].write_table(tables[source].filter(pa.array(new_day)))
            people += keep_people
            chunk += 1
    finally:
        for writer in next_day_writers.values():
            writer.close()
    world = World(root=root, seed=seed, n_events=n_events, events=events, next_day_events=next_day_events,
                  people=people, chunks=chunk, start=START.date().isoformat(),
                  next_day=(START + dt.timedelta(days=HISTORY_DAYS)).date().isoformat())
    manifest.write_text(json.dumps({"version": GENERATOR_VERSION} | asdict(world) | {"root": str(root)}, indent=2))
    return world


def _people_to_keep(times: dict[str, np.ndarray], owners: dict[str, np.ndarray], remaining: int) -> int:
    """How many of the chunk's people to keep so the history reaches ``remaining`` events."""
    n = max(int(o.max(initial=-1)) for o in owners.values()) + 1
    counts = sum(np.bincount(owners[s][times[s] < HISTORY_DAYS * DAY], minlength=n) for s in SOURCES)
    cumulative = np.cumsum(counts)
    if cumulative[-1] <= remaining:
        return CUSTOMERS_PER_CHUNK
    return int(np.searchsorted(cumulative, remaining, side="left")) + 1


def _write_sorted(table: pa.Table, t: np.ndarray, mask: np.ndarray, path: Path) -> None:
    """Write the masked rows in time order (exports are by time, not by customer)."""
    rows = np.flatnonzero(mask)
    rows = rows[np.argsort(t[rows], kind="stable")]
    pq.write_table(table.take(pa.array(rows)), path)


# --------------------------------------------------------------------------- one chunk of people


def generate_chunk(rng: np.random.Generator, chunk: int, first_person: int, n: int
                   ) -> tuple[dict[str, pa.Table], dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The events of ``n`` people numbered from ``first_person``: per source, the table, each
    row's seconds from :data:`START` and each row's person (0 … n-1 within the chunk)."""
    people = _people(rng, first_person, n)
    sessions = _sessions(rng, people)
    web = _web_events(rng, sessions)
    _identify(people, sessions, web)
    calls = _call_events(rng, people, sessions)
    offline = _offline_events(rng, people, sessions)
    crm = _crm_events(rng, people, web, calls)
    parts = {"web": web, "crm": crm, "calls": calls, "offline": offline}
    tables, times, owners = {}, {}, {}
    for source, ev in parts.items():
        inside = ev["t"] < HORIZON
        ev = {k: v[inside] for k, v in ev.items()}
        ev["event_id"] = chunk * 10**9 + np.arange(len(ev["t"]), dtype=np.int64)
        tables[source] = _TABLE_BUILDERS[source](rng, people, sessions, ev)
        times[source], owners[source] = ev["t"], ev["person"]
    return tables, times, owners


def _people(rng: np.random.Generator, first: int, n: int) -> dict[str, np.ndarray]:
    pid = first + np.arange(n, dtype=np.int64)
    has_phone = rng.random(n) < 0.85
    return {
        "pid": pid,
        "first_seen": rng.random(n) * HORIZON,
        "sessions": np.minimum(rng.zipf(2.0, n), MAX_SESSIONS),
        "gap_mean": np.exp(rng.normal(np.log(3 * DAY), 1.0, n)),
        "cookies": 1 + (rng.random(n) < 0.35) + (rng.random(n) < 0.15),
        "identified": rng.random(n) < 0.12,
        "has_phone": has_phone,
        "has_email": (rng.random(n) < 0.6) | ~has_phone,
        "in_crm": rng.random(n) < 0.75,
        "city": rng.choice(len(CITIES), n, p=CITY_P),
        # identifiers: bijections of the person number, so distinct people never share one
        "phone": phone_number(pid),
        "email_key": (pid * 387_420_489 + 12_345) % 10**10,
        "contact": 10_000_000 + pid,
    }


def phone_number(pid: np.ndarray) -> np.ndarray:
    """A Russian mobile number per person (11 digits, 7 9XX XXXXXXX), distinct for distinct people,
    in the ranges libphonenumber accepts (+7 930 is not a valid range: ingest would reject it).

    >>> phone_number(np.arange(3)).tolist()
    [79000000007, 79282475256, 79574950505]
    """
    index = (pid * 282_475_249 + 7) % (len(MOBILE_PREFIXES) * 10**7)  # 7**10 is prime to 99 * 10**7
    return 70_000_000_000 + MOBILE_PREFIXES[index // 10**7] * 10**7 + index % 10**7


def _segment_cumsum(values: np.ndarray, group_starts: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Running sum within consecutive groups (``group`` = each row's group, sorted)."""
    total = np.cumsum(values)
    return total - (total[group_starts] - values[group_starts])[group]


def _sessions(rng: np.random.Generator, people: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Sessions of every person, cut at the horizon: person, start (s), kind, channel, device, cookie."""
    counts = people["sessions"]
    person = np.repeat(np.arange(len(counts)), counts)
    starts = np.cumsum(counts) - counts
    gaps = rng.exponential(1.0, len(person)) * people["gap_mean"][person]
    gaps[starts] = 0.0
    start = people["first_seen"][person] + _segment_cumsum(gaps, starts, person)
    kind = rng.choice(len(SESSION_KINDS), len(person), p=SESSION_KIND_P)
    sessions = {
        "person": person, "start": start, "kind": kind,
        "channel": rng.choice(len(CHANNELS), len(person), p=CHANNEL_P),
        "device": rng.choice(len(DEVICES), len(person), p=(0.45, 0.5, 0.05)),
        "cookie": (rng.random(len(person)) * people["cookies"][person]).astype(np.int64),
        "campaign": rng.integers(0, len(CAMPAIGNS), len(person)),
    }
    inside = start < HORIZON
    return {k: v[inside] for k, v in sessions.items()}


def cookie_id(people: dict[str, np.ndarray], person: np.ndarray, k: np.ndarray) -> np.ndarray:
    """A Metrica-like ClientID: the first-visit unix time, then nine digits unique per (person, cookie)."""
    unix = START.replace(tzinfo=dt.timezone.utc).timestamp() + people["first_seen"][person]
    return unix.astype(np.int64) * 10**9 + (people["pid"][person] * 4 + k) * 387_420_489 % 10**9


def _web_events(rng: np.random.Generator, sessions: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Walk the session chain for every web session at once; one row per hit."""
    web = np.flatnonzero(sessions["kind"] == 0)
    cum = np.cumsum(WEB_MOVES, axis=1)
    state = np.zeros(len(web), dtype=np.int64)
    alive = np.arange(len(web))
    rows_s, rows_pos, rows_state = [alive], [np.zeros(len(web), np.int64)], [state.copy()]
    for pos in range(1, MAX_SESSION_EVENTS):
        u = rng.random(len(alive))
        nxt = (u[:, None] > cum[state[alive]]).sum(axis=1)
        go = nxt < EXIT
        state[alive[go]] = nxt[go]
        alive = alive[go]
        if not len(alive):
            break
        rows_s.append(alive)
        rows_pos.append(np.full(len(alive), pos))
        rows_state.append(state[alive])
    s, pos, st = np.concatenate(rows_s), np.concatenate(rows_pos), np.concatenate(rows_state)
    order = np.lexsort((pos, s))
    s, pos, st = s[order], pos[order], st[order]
    first = np.flatnonzero(pos == 0)
    gaps = rng.exponential(45.0, len(s))
    gaps[first] = 0.0
    session = web[s]
    group = np.cumsum(pos == 0) - 1
    t = sessions["start"][session] + _segment_cumsum(gaps, first, group)
    return {"t": np.floor(t), "person": sessions["person"][session], "session": session, "state": st, "pos": pos}


def _identify(people: dict[str, np.ndarray], sessions: dict[str, np.ndarray], web: dict[str, np.ndarray]) -> None:
    """People who check out, call or visit a store leave a phone or e-mail: they are identified."""
    ident = people["identified"]
    ident[web["person"][web["state"] >= CHECKOUT]] = True
    ident[sessions["person"][sessions["kind"] > 0]] = True
    people["has_phone"][sessions["person"][sessions["kind"] == 1]] = True  # a call comes from a phone


def _call_events(rng: np.random.Generator, people: dict[str, np.ndarray], sessions: dict[str, np.ndarray]
                 ) -> dict[str, np.ndarray]:
    calls = np.flatnonzero(sessions["kind"] == 1)
    return {"t": np.floor(sessions["start"][calls]), "person": sessions["person"][calls], "session": calls,
            "answered": rng.random(len(calls)) < 0.8}


def _offline_events(rng: np.random.Generator, people: dict[str, np.ndarray], sessions: dict[str, np.ndarray]
                    ) -> dict[str, np.ndarray]:
    """A store visit, and for half of them a purchase in the same hour (the same timestamp)."""
    visits = np.flatnonzero(sessions["kind"] == 2)
    buys = visits[rng.random(len(visits)) < 0.5]
    session = np.concatenate([visits, buys])
    return {"t": np.floor(sessions["start"][session] / 3600) * 3600, "person": sessions["person"][session],
            "session": session, "is_purchase": np.arange(len(session)) >= len(visits)}


def _crm_events(rng: np.random.Generator, people: dict[str, np.ndarray], web: dict[str, np.ndarray],
                calls: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Leads after checkouts and answered calls, won deals after purchases, lost deals, e-mail opens."""
    in_crm = people["in_crm"] & people["identified"]
    parts = []

    def add(kind: int, t: np.ndarray, person: np.ndarray) -> None:
        parts.append((np.full(len(t), kind), t, person))

    chk = np.flatnonzero((web["state"] == CHECKOUT) & in_crm[web["person"]])
    chk = chk[rng.random(len(chk)) < 0.8]
    add(0, web["t"][chk] + 120, web["person"][chk])
    called = np.flatnonzero(calls["answered"] & in_crm[calls["person"]])
    called = called[rng.random(len(called)) < 0.5]
    add(0, calls["t"][called] + 300, calls["person"][called])
    won = np.flatnonzero((web["state"] == PURCHASE) & in_crm[web["person"]])
    won = won[rng.random(len(won)) < 0.9]
    add(1, web["t"][won] + 3600, web["person"][won])
    lead_t, lead_p = np.concatenate([parts[0][1], parts[1][1]]), np.concatenate([parts[0][2], parts[1][2]])
    lost = rng.random(len(lead_t)) < 0.25
    add(2, lead_t[lost] + 7 * DAY, lead_p[lost])
    members = np.flatnonzero(in_crm)
    opens = rng.poisson(3, len(members))
    person = np.repeat(members, opens)
    first = people["first_seen"][person]
    add(3, np.floor(first + rng.random(len(person)) * (HORIZON - first)), person)
    kind, t, person = (np.concatenate(x) for x in zip(*parts))
    return {"t": t, "person": person, "kind": kind}


# --------------------------------------------------------------------------- Arrow tables


def _strings(vocab, index: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """Text from a small vocabulary by index (null where not ``valid``)."""
    mask = None if valid is None else ~valid
    return pa.DictionaryArray.from_arrays(pa.array(index.astype(np.int32), mask=mask),
                                          pa.array(list(vocab), pa.string())).cast(pa.string())


def _ints(values: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    return pa.array(values.astype(np.int64), mask=None if valid is None else ~valid)


def _times(t: np.ndarray) -> pa.Array:
    base = np.datetime64(START.isoformat(), "s")
    return pa.array(base + t.astype(np.int64).astype("timedelta64[s]"), _TS)


def _emails(people: dict[str, np.ndarray], person: np.ndarray, valid: np.ndarray) -> pa.Array:
    """Each row's person's e-mail (null where not ``valid``), built once per person of the chunk."""
    vocab = [f"u{k}@{DOMAINS[k % len(DOMAINS)]}" for k in people["email_key"].tolist()]
    return _strings(vocab, person, valid)


def _web_table(rng, people, sessions, ev) -> pa.Table:
    person, session, state = ev["person"], ev["session"], ev["state"]
    channel = sessions["channel"][session]
    ident = people["identified"][person]
    carries = ident & ((state >= CHECKOUT) | (rng.random(len(person)) < 0.05))
    url = np.zeros(len(state), np.int64)
    for s, base in _URL_BASE.items():
        size = {1: N_PAGES, 2: N_CATEGORIES, 3: N_PRODUCTS}[s]
        hit = state == s
        url[hit] = base + rng.integers(0, size, int(hit.sum()))
    for s, fixed in _URL_FIXED.items():
        url[state == s] = fixed
    tagged = (ev["pos"] == 0) & np.isin(channel, [CHANNELS.index(c) for c in UTM])
    utm_src = np.array([list(UTM).index(CHANNELS[c]) if CHANNELS[c] in UTM else 0 for c in range(len(CHANNELS))])
    revenue = np.round(np.exp(rng.normal(np.log(3000), 0.8, len(state))), 2)
    cookie = cookie_id(people, person, sessions["cookie"][session])
    return pa.Table.from_arrays([
        _times(ev["t"]), _strings(WEB_TYPES, state), _ints(ev["event_id"]), _ints(cookie),
        _emails(people, person, carries & people["has_email"][person]),
        _ints(people["phone"][person], carries & (state >= CHECKOUT) & people["has_phone"][person]),
        _strings(CHANNELS, channel),
        _strings([u[0] for u in UTM.values()], utm_src[channel], tagged),
        _strings([u[1] for u in UTM.values()], utm_src[channel], tagged),
        _strings(CAMPAIGNS, sessions["campaign"][session], tagged),
        _strings(URLS, url),
        pa.array(revenue, mask=state != PURCHASE),
        _strings(DEVICES, sessions["device"][session]),
        _strings(CITIES, people["city"][person]),
    ], schema=SCHEMAS["web"])


def _crm_table(rng, people, sessions, ev) -> pa.Table:
    person, kind = ev["person"], ev["kind"]
    revenue = np.round(np.exp(rng.normal(np.log(3000), 0.8, len(kind))), 2)
    return pa.Table.from_arrays([
        _times(ev["t"]), _strings(("lead_created", "deal_won", "deal_lost", "email_open"), kind),
        _ints(ev["event_id"]), _ints(people["contact"][person]),
        _ints(people["phone"][person], people["has_phone"][person]),
        _emails(people, person, people["has_email"][person]),
        pa.array(revenue, mask=kind != 1),
        _strings(MANAGERS, people["pid"][person] % len(MANAGERS)),
    ], schema=SCHEMAS["crm"])


def _calls_table(rng, people, sessions, ev) -> pa.Table:
    person, session = ev["person"], ev["session"]
    tracked = rng.random(len(person)) < 0.3
    cookie = cookie_id(people, person, np.zeros(len(person), np.int64))
    duration = np.where(ev["answered"], rng.exponential(180, len(person)), 0).astype(np.int64)
    return pa.Table.from_arrays([
        _times(ev["t"]), _strings(("call_missed", "call"), ev["answered"].astype(np.int64)), _ints(ev["event_id"]),
        _ints(people["phone"][person]), _ints(cookie, tracked), _strings(CHANNELS, sessions["channel"][session]),
        _ints(duration),
    ], schema=SCHEMAS["calls"])


def _offline_table(rng, people, sessions, ev) -> pa.Table:
    person, buy = ev["person"], ev["is_purchase"]
    by_phone = people["has_phone"][person]
    revenue = np.round(np.exp(rng.normal(np.log(5000), 0.7, len(person))), 2)
    return pa.Table.from_arrays([
        _times(ev["t"]), _strings(("store_visit", "offline_purchase"), buy.astype(np.int64)), _ints(ev["event_id"]),
        _ints(people["phone"][person], by_phone), _emails(people, person, ~by_phone),
        pa.array(revenue, mask=~buy), _strings(STORES, people["pid"][person] % len(STORES)),
    ], schema=SCHEMAS["offline"])


_TABLE_BUILDERS = {"web": _web_table, "crm": _crm_table, "calls": _calls_table, "offline": _offline_table}


def parse_size(text: str) -> int:
    """``'1M'`` → 1_000_000; also ``k`` and plain integers.

    >>> parse_size("1M"), parse_size("100k"), parse_size("2500")
    (1000000, 100000, 2500)
    """
    text = text.strip().lower().replace("_", "")
    for suffix, factor in (("k", 10**3), ("m", 10**6), ("g", 10**9)):
        if text.endswith(suffix):
            return int(float(text[:-1]) * factor)
    return int(text)


def main() -> None:
    ap = argparse.ArgumentParser(description="Generate a benchmark world (Parquet generic events).")
    ap.add_argument("size", help="history events, e.g. 1M, 100k")
    ap.add_argument("out_dir")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = ap.parse_args()
    world = make_world(parse_size(args.size), args.out_dir, args.seed)
    print(json.dumps(asdict(world) | {"root": str(world.root)}, indent=2))


if __name__ == "__main__":
    main()
