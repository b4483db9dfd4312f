"""identity_components (min-label propagation with pointer jumping) against a Python union-find.

Random graphs, 1,000-link chains in both orders, stars and forests of mixed shapes: the SQL
fixpoint must give exactly the union-find partition, with every label the component's smallest
node; long chains must converge in O(log n) rounds; a too-small iteration limit must fail the
step rather than return a partial answer.
"""

from __future__ import annotations

import random
from collections import defaultdict

import pandas as pd
import pytest

from cjm_pipeline import db, pipeline
from cjm_pipeline.errors import StepError

STEPS = {s.name: s for s in pipeline.STEPS}


def union_find(edges: list[tuple[str, str]]) -> dict[str, str]:
    """node -> smallest node of its component."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {x: find(x) for x in list(parent)}


def run_components(edges: list[tuple[str, str]], max_iterations: int = 60):
    con = db.connect(":memory:")
    try:
        nodes = sorted({n for e in edges for n in e})
        frame = pd.DataFrame(edges + [(n, n) for n in nodes], columns=["id_a", "id_b"]).drop_duplicates()
        db.write_table(con, "identity_edges", frame)
        params = {"max_iterations": max_iterations}
        STEPS["identity_nodes"].run(con, params)
        STEPS["identity_adjacency"].run(con, params)
        result = STEPS["identity_components"].run(con, params)
        labels = dict(db.execute(con, "select n.identifier, root.identifier from identity_components as c "
                                      "join identity_nodes as n on n.node_id = c.node_id "
                                      "join identity_nodes as root on root.node_id = c.label"))
        return labels, result.rounds
    finally:
        con.close()


def chain(n: int, prefix: str, descending: bool) -> list[tuple[str, str]]:
    names = [f"{prefix}{i:05d}" for i in range(n + 1)]
    if descending:
        names.reverse()
    return list(zip(names, names[1:]))


def random_graph(seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    edges: list[tuple[str, str]] = []
    n = rng.randint(20, 300)
    for _ in range(rng.randint(n // 2, 2 * n)):
        edges.append((f"n{rng.randrange(n):04d}", f"n{rng.randrange(n):04d}"))
    for s in range(rng.randint(1, 4)):  # stars
        hub = f"hub{seed}_{s}"
        edges += [(hub, f"leaf{seed}_{s}_{k:03d}") for k in range(rng.randint(5, 200))]
    edges += chain(rng.randint(10, 120), f"c{seed}_", descending=rng.random() < 0.5)
    rng.shuffle(edges)
    return edges


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(25))
def test_random_graphs_match_union_find(seed):
    edges = random_graph(seed)
    labels, _ = run_components(edges)
    assert labels == union_find(edges)


@pytest.mark.parametrize("descending", [False, True])
def test_thousand_link_chain_converges_in_few_rounds(descending):
    edges = chain(1000, "x", descending)
    labels, rounds = run_components(edges)
    assert set(labels.values()) == {"x00000"}
    assert len(labels) == 1001
    # plain propagation needs ~1000 rounds; pointer jumping roughly log2(1000) plus a few
    assert rounds <= 25, rounds


def test_stars_and_chains_together():
    edges = chain(1000, "a", True) + [("hub", f"leaf{k:04d}") for k in range(2000)] + [("a00500", "leaf1999")]
    labels, _ = run_components(edges)
    assert labels == union_find(edges)
    assert set(labels.values()) == {"a00000"}


def test_too_few_iterations_fail_loudly():
    with pytest.raises(StepError, match="did not converge in 3 rounds"):
        run_components(chain(1000, "x", True), max_iterations=3)


def test_components_are_groups_of_the_partition():
    edges = random_graph(99)
    labels, _ = run_components(edges)
    groups: dict[str, set[str]] = defaultdict(set)
    for node, label in labels.items():
        groups[label].add(node)
    for label, members in groups.items():
        assert label == min(members)
