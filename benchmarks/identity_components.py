#!/usr/bin/env python3
"""Benchmark: connected components of a large identity graph (issue: identity stitching).

Builds an identity-like graph in DuckDB (people with one to three cookies, a phone, sometimes
an e-mail and a CRM contact, plus long cookie chains), runs the ``identity_components``
step (pointer jumping to a fixpoint) and ``identity_map`` on it, and prints the edges, rounds,
seconds and the process's peak memory. Not a test: numbers depend on the machine.

    .venv/bin/python benchmarks/identity_components.py --edges 5000000
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import time

from cjm_pipeline import db, pipeline


def build_graph(con, edges: int, seed: int) -> int:
    """``identity_edges`` with about ``edges`` rows (each record a star around its smallest id)."""
    people = edges // 4
    db.execute(con, "select setseed($s)", {"s": seed / 2**31})
    db.execute(con, """
        create or replace table identity_edges as
        with people as (
            select range as p, 1 + cast(floor(random() * 3) as int) as cookies, random() < 0.6 as has_email,
                   random() < 0.3 as has_contact
            from range($people)
        ),
        records as (
            -- one record per cookie: the cookie and the person's phone
            select 'ym_client_id:' || p || '_' || c as a, 'phone:+7' || (9000000000 + p) as b
            from people, range(cookies) as t(c)
            union all
            select 'email:u' || p || '@mail.ru', 'phone:+7' || (9000000000 + p) from people where has_email
            union all
            select 'crm_contact:' || p, 'phone:+7' || (9000000000 + p) from people where has_contact
            union all
            -- long chains: a cookie shared along 1,000 people in a row (a worst case for propagation)
            select 'ym_client_id:' || p || '_0', 'ym_client_id:' || (p + 1) || '_0' from people where p % 1000 <> 999
                and p < $chain_people
        )
        select least(a, b) as id_a, greatest(a, b) as id_b from records
        union
        select a, a from records
        union
        select b, b from records
    """, {"people": people, "chain_people": min(people, 200_000)})
    return db.scalar(con, "select count(*) from identity_edges")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--edges", type=int, default=5_000_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--memory-limit", default=None)
    args = ap.parse_args()
    con = db.connect(":memory:", memory_limit=args.memory_limit)
    t0 = time.perf_counter()
    n = build_graph(con, args.edges, args.seed)
    t1 = time.perf_counter()
    db.execute(con, "create table _cjm_identity_state (identifier varchar, customer_id varchar, first_run varchar, "
                    "first_seen_at timestamp)")
    steps = {s.name: s for s in pipeline.STEPS}
    params = {"max_iterations": 60, "run_id": "bench", "run_started": dt.datetime(2026, 1, 1)}
    steps["identity_nodes"].run(con, params)
    steps["identity_adjacency"].run(con, params)
    comp = steps["identity_components"].run(con, params)
    t2 = time.perf_counter()
    steps["identity_map"].run(con, params)
    t3 = time.perf_counter()
    customers = db.scalar(con, "select count(distinct customer_id) from identity_map")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"identity_edges: {n:,} rows (built in {t1 - t0:.1f} s)")
    print(f"identity_components: {comp.rows:,} nodes, {comp.rounds} rounds, {t2 - t1:.1f} s")
    print(f"identity_map: {customers:,} customers, {t3 - t2:.1f} s")
    print(f"peak RSS: {peak_mb:,.0f} MB")


if __name__ == "__main__":
    main()
