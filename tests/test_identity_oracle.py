"""Property tests: identity stitching v0 against a union-find oracle.

Definition (docs/semantics.md, "Links and customers"): a customer is a connected component of identifiers,
where every identifier of one record is linked to every other identifier of that record.
Identifiers are namespaced by kind (``email:...``, ``phone:...``, ``anonymous_id:...``), so the
same text in two identifier columns is two different identifiers. ``customer_id`` is opaque
(no raw PII) and stable across runs unless a merge or split happens.

Each seed builds the ``events`` table directly (EVENTS_SCHEMA of tests/journeys.py) from a
random graph made of: rows of random identifiers drawn from small pools (random merges),
a long cookie chain (50-90 links, one row per link, the smallest identifier at the far end
so that labels must travel the whole chain), stars (one email or phone seen with many
cookies), singletons (rows with one identifier, some repeated), isolated rows (several
identifiers seen only together), the same text in several identifier columns (must not
link), and a few bridges between those pieces. Then it runs ``event_identifiers``,
``identity_edges``, ``identity_map`` and ``customer_events`` and compares with union-find.
"""

from __future__ import annotations

import datetime as dt
import functools
import random
import re
from collections import defaultdict
from dataclasses import dataclass

import pandas as pd
import pytest

from cjm_pipeline import db, pipeline
from cjm_pipeline.config import IdentityConfig
from journeys import EVENTS_SCHEMA, make_config

N_SEEDS = 50

#: events column -> identifier namespace
ID_COLUMNS = {
    "customer_key": "customer_id",
    "anonymous_id": "anonymous_id",
    "user_id": "user_id",
    "client_id": "client_id",
    "email": "email",
    "phone": "phone",
    "crm_contact_id": "crm_contact",
}
IDENTITY_STEPS = tuple(s.name for s in pipeline.STEPS if s.layer == "identity")


# ---------------------------------------------------------------------------------------
# Random identity graphs
# ---------------------------------------------------------------------------------------

def value_for(column: str, text: str) -> str:
    """A realistic value of an identifier column built from a unique text."""
    if column == "email":
        return f"{text}@example.com"
    if column == "phone":
        digits = "".join(str(ord(ch) % 10) for ch in text)
        return "+7" + digits.rjust(10, "0")[-10:] + str(len(text) % 10)
    return text


def random_rows(seed: int) -> list[dict[str, str]]:
    """Rows as {identifier column: value}; every row has at least one identifier."""
    rng = random.Random(seed)
    cols = list(ID_COLUMNS)
    rows: list[dict[str, str]] = []
    tag = f"s{seed}"

    # random merges: identifiers drawn from small pools per column
    pools = {c: [value_for(c, f"{tag}p{c[:2]}{i}") for i in range(rng.randint(3, 12))] for c in cols}
    for _ in range(rng.randint(5, 40)):
        chosen = rng.sample(cols, rng.randint(1, 4))
        rows.append({c: rng.choice(pools[c]) for c in chosen})

    # a long cookie chain: link i joins node i and node i+1; node kinds alternate so a row never
    # needs two values in one column. Values decrease along the chain, so the component's
    # smallest identifier is at the far end from the first row.
    length = rng.randint(50, 90)
    kinds = [rng.choice(["anonymous_id", "client_id"])]
    for _ in range(length):
        kinds.append("client_id" if kinds[-1] == "anonymous_id" else "anonymous_id")
    chain_nodes = [(kinds[i], value_for(kinds[i], f"{tag}ck{length - i:04d}")) for i in range(length + 1)]
    if rng.random() < 0.5:
        chain_nodes.reverse()
    for (ca, va), (cb, vb) in zip(chain_nodes, chain_nodes[1:]):
        rows.append({ca: va, cb: vb})

    # stars: a hub seen with many cookies (sometimes also with a second identifier)
    stars = []
    for s in range(rng.randint(1, 3)):
        hub_col = rng.choice(["email", "phone", "user_id", "crm_contact_id"])
        hub = value_for(hub_col, f"{tag}hub{s}")
        stars.append((hub_col, hub))
        for k in range(rng.randint(3, 25)):
            leaf_col = rng.choice([c for c in cols if c != hub_col])
            rows.append({hub_col: hub, leaf_col: value_for(leaf_col, f"{tag}leaf{s}x{k}")})

    # singletons: one identifier per row, some seen in several rows
    singletons = []
    for k in range(rng.randint(1, 10)):
        c = rng.choice(cols)
        v = value_for(c, f"{tag}single{k}")
        singletons.append((c, v))
        for _ in range(rng.randint(1, 3)):
            rows.append({c: v})

    # isolated rows: several identifiers seen only together, once
    for k in range(rng.randint(1, 6)):
        chosen = rng.sample(cols, rng.randint(2, 5))
        rows.append({c: value_for(c, f"{tag}iso{k}{c[:2]}") for c in chosen})

    # the same text in different columns is not the same identifier
    for k in range(rng.randint(1, 4)):
        text = f"{tag}same{k}"
        for c in rng.sample(["anonymous_id", "user_id", "client_id", "crm_contact_id", "customer_key"],
                            rng.randint(2, 4)):
            rows.append({c: text})

    # a few bridges between the pieces above (merges of big components)
    anchors = [dict([n]) for n in rng.sample(chain_nodes, 3)] + [dict([s]) for s in stars] + \
              [dict([s]) for s in singletons] + [dict(rng.choice(rows))]
    for _ in range(rng.randint(0, 3)):
        a, b = rng.sample(anchors, 2)
        merged = dict(a)
        for c, v in b.items():
            if c not in merged:
                merged[c] = v
        rows.append(merged)

    rng.shuffle(rows)
    return rows


# ---------------------------------------------------------------------------------------
# The oracle: union-find over namespaced identifiers
# ---------------------------------------------------------------------------------------

def identifiers_of(row: dict[str, str]) -> set[str]:
    return {f"{ID_COLUMNS[c]}:{v}" for c, v in row.items() if v is not None}


class UnionFind:
    def __init__(self):
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[ra] = rb


BLOCKLIST = IdentityConfig().blocklist_rows()
MAX_CONTACTS = IdentityConfig().max_contacts_per_identifier


def blocked(identifier: str) -> bool:
    """The built-in blocklist, in Python (RE2 and Python agree on these patterns)."""
    id_type, value = identifier.split(":", 1)
    return any((t in (id_type, "any")) and (value == p if kind == "exact" else re.search(p, value))
               for t, kind, p in BLOCKLIST)


def hubs_of(rows: list[dict[str, str]]) -> set[str]:
    """Phones and e-mails seen in rows of more than MAX_CONTACTS distinct CRM contacts."""
    contacts: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        ids = {i for i in identifiers_of(row) if not blocked(i)}
        for i in ids:
            if i.startswith(("phone:", "email:")):
                contacts[i] |= {c for c in ids if c.startswith("crm_contact:")}
    return {i for i, c in contacts.items() if len(c) > MAX_CONTACTS}


def linking_nodes(rows: list[dict[str, str]], event_ids: list[str]) -> list[list[str]]:
    """Per row, the identifiers that may link (not blocked, not hubs), or the event's own node."""
    hubs = hubs_of(rows)
    out = []
    for row, eid in zip(rows, event_ids):
        ids = sorted(i for i in identifiers_of(row) if not blocked(i) and i not in hubs)
        out.append(ids or [f"event:{eid}"])
    return out


def oracle_partition(rows: list[dict[str, str]], event_ids: list[str] | None = None) -> set[frozenset[str]]:
    event_ids = event_ids or [f"ev{i:05d}" for i in range(len(rows))]
    uf = UnionFind()
    for ids in linking_nodes(rows, event_ids):
        for i in ids:
            uf.find(i)
        for a, b in zip(ids, ids[1:]):
            uf.union(a, b)
    groups: dict[str, set[str]] = defaultdict(set)
    for x in list(uf.parent):
        groups[uf.find(x)].add(x)
    return {frozenset(g) for g in groups.values()}


# ---------------------------------------------------------------------------------------
# Running the SQL
# ---------------------------------------------------------------------------------------

@dataclass
class IdentityRun:
    event_ids: list[str]
    event_identifiers: pd.DataFrame
    identity_map: pd.DataFrame
    customer_events: pd.DataFrame


def load_rows(con, rows: list[dict[str, str]], event_ids: list[str]) -> None:
    db.execute(con, EVENTS_SCHEMA)
    base = dt.datetime(2025, 1, 1)
    frame = pd.DataFrame([{
        "event_id": eid,
        "event_ts": base + dt.timedelta(minutes=i),
        **{c: row.get(c) for c in ID_COLUMNS},
    } for i, (eid, row) in enumerate(zip(event_ids, rows))])
    for c in ID_COLUMNS:
        frame[c] = frame[c].astype(object)
    db.register(con, "_rows", frame)
    db.execute(con, """
        insert into events by name
        select event_id, event_ts, 'test' as source, 'generic' as source_system, 'visit' as event_type,
            cast(customer_key as varchar) as customer_key, cast(anonymous_id as varchar) as anonymous_id,
            cast(user_id as varchar) as user_id, cast(client_id as varchar) as client_id,
            cast(email as varchar) as email, cast(phone as varchar) as phone,
            cast(crm_contact_id as varchar) as crm_contact_id,
            1 as _load_id, 'test' as _file, row_number() over () as _row
        from _rows
    """)
    db.unregister(con, "_rows")


def run_identity(rows: list[dict[str, str]], event_ids: list[str] | None = None) -> IdentityRun:
    event_ids = event_ids or [f"ev{i:05d}" for i in range(len(rows))]
    cfg = make_config(["visit", "buy"])
    con = db.connect(":memory:")
    try:
        load_rows(con, rows, event_ids)
        pipeline.write_config_tables(con, cfg)
        steps = tuple(s for s in pipeline.STEPS if s.name in IDENTITY_STEPS)
        pipeline.run_steps(con, cfg, steps)
        return IdentityRun(
            event_ids,
            db.read_table(con, "event_identifiers"),
            db.read_table(con, "identity_map"),
            db.read_table(con, "customer_events"),
        )
    finally:
        con.close()


@functools.lru_cache(maxsize=None)
def case(seed: int) -> tuple[list[dict[str, str]], IdentityRun]:
    rows = random_rows(seed)
    return rows, run_identity(rows)


def sql_partition(run: IdentityRun) -> set[frozenset[str]]:
    groups: dict[str, set[str]] = defaultdict(set)
    for identifier, customer in zip(run.identity_map["identifier"], run.identity_map["customer_id"]):
        groups[customer].add(identifier)
    return {frozenset(g) for g in groups.values()}


def summary(partition: set[frozenset[str]]) -> str:
    sizes = sorted((len(g) for g in partition), reverse=True)
    return f"{len(partition)} components, sizes {sizes[:10]}..."


SEEDS = range(N_SEEDS)


# ---------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------

def test_oracle_hand_example():
    rows = [{"email": "a@x.ru", "anonymous_id": "c1"}, {"anonymous_id": "c1", "phone": "+79990000001"},
            {"client_id": "c1"}, {"phone": "+79990000002"}, {"user_id": "u1", "crm_contact_id": "7"}]
    assert oracle_partition(rows) == {
        frozenset({"email:a@x.ru", "anonymous_id:c1", "phone:+79990000001"}),
        frozenset({"client_id:c1"}), frozenset({"phone:+79990000002"}),
        frozenset({"user_id:u1", "crm_contact:7"}),
    }
    assert sql_partition(run_identity(rows)) == oracle_partition(rows)


def test_long_chain_of_300_links():
    """Labels must travel the whole chain; the smallest identifier is at the end."""
    rows = [{"anonymous_id": f"ck{300 - i:04d}", "client_id": f"cl{300 - i:04d}"} for i in range(300)]
    rows += [{"client_id": f"cl{300 - i:04d}", "anonymous_id": f"ck{300 - i - 1:04d}"} for i in range(300)]
    random.Random(0).shuffle(rows)
    want = oracle_partition(rows)
    assert len(want) == 1
    assert sql_partition(run_identity(rows)) == want


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_partition_matches_union_find(seed):
    rows, run = case(seed)
    want = oracle_partition(rows)
    assert run.identity_map["identifier"].is_unique
    got = sql_partition(run)
    assert got == want, (summary(got), summary(want), sorted(got ^ want, key=len)[:4])


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_event_identifiers_are_namespaced_and_complete(seed):
    rows, run = case(seed)
    got: dict[str, set[str]] = defaultdict(set)
    for event_id, identifier in zip(run.event_identifiers["event_id"], run.event_identifiers["identifier"]):
        got[event_id].add(identifier)
    want = {eid: identifiers_of(row) for eid, row in zip(run.event_ids, rows)}
    assert dict(got) == want
    assert len(run.event_identifiers) == sum(len(v) for v in want.values())  # no duplicate rows


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_customer_events_follow_components(seed):
    rows, run = case(seed)
    ce = run.customer_events
    assert sorted(ce["event_id"]) == sorted(run.event_ids)  # every event exactly once
    customer_of_identifier = dict(zip(run.identity_map["identifier"], run.identity_map["customer_id"]))
    customer_of_event = dict(zip(ce["event_id"], ce["customer_id"]))
    component_of = {i: g for g in oracle_partition(rows, run.event_ids) for i in g}
    customers_of_component: dict[frozenset, set[str]] = defaultdict(set)
    for eid, ids in zip(run.event_ids, linking_nodes(rows, run.event_ids)):
        # the event's customer is the customer of each of its identifiers
        assert {customer_of_identifier[i] for i in ids} == {customer_of_event[eid]}, (eid, ids)
        comps = {component_of[i] for i in ids}
        assert len(comps) == 1
        customers_of_component[comps.pop()].add(customer_of_event[eid])
    # all events of one component share one customer_id, and components do not share one
    assert all(len(c) == 1 for c in customers_of_component.values())
    flat = [next(iter(c)) for c in customers_of_component.values()]
    assert len(flat) == len(set(flat))
    # narrow: the wide columns stay in events and classified_events
    assert list(ce.columns) == ["customer_id", "event_id", "event_ts", "source", "event_type"]


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_customer_id_is_opaque(seed):
    rows, run = case(seed)
    raw = {v for row in rows for c, v in row.items() if c in ("email", "phone")}
    identifiers = set(run.identity_map["identifier"])
    for customer in set(run.identity_map["customer_id"]) | set(run.customer_events["customer_id"]):
        assert isinstance(customer, str) and customer
        assert "@" not in customer and "+" not in customer, customer
        assert not any(v in customer for v in raw), customer
        assert not any(i in customer for i in identifiers), customer


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(0, N_SEEDS, 5))
def test_customer_id_is_stable_across_runs(seed):
    """Same identifiers, rows in another order with other event ids, plus one unrelated row:
    no merge or split, so every identifier keeps its customer_id."""
    rows, run = case(seed)
    rng = random.Random(10_000 + seed)
    again = list(rows) + [{"email": f"s{seed}unrelated@example.com", "anonymous_id": f"s{seed}unrelated"}]
    rng.shuffle(again)
    rerun = run_identity(again, [f"other-{i:05d}" for i in range(len(again))])
    before = dict(zip(run.identity_map["identifier"], run.identity_map["customer_id"]))
    after = dict(zip(rerun.identity_map["identifier"], rerun.identity_map["customer_id"]))
    before = {i: c for i, c in before.items() if not i.startswith("event:")}  # events' own nodes are renamed
    assert {i: after[i] for i in before} == before
