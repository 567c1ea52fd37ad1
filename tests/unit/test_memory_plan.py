"""The arena planner: never overlaps live buffers, lands near the lower bound, is deterministic."""
from __future__ import annotations

import numpy as np
import pytest

from codegen.memory import ALIGN, Lifetime, align_up, live_lower_bound, plan_arena


def _random_lifetimes(rng: np.random.Generator, n: int) -> list[Lifetime]:
    out = []
    for i in range(n):
        first = int(rng.integers(0, 30))
        out.append(Lifetime(f"b{i}", int(rng.integers(1, 5000)), first, first + int(rng.integers(0, 6))))
    return out


@pytest.mark.parametrize("seed", range(20))
def test_random_plans_are_sound_and_tight(seed):
    rng = np.random.default_rng(seed)
    lts = _random_lifetimes(rng, 40)
    plan = plan_arena(lts)
    assert plan.overlapping_pairs() == []
    for lt in lts:
        assert plan.offsets[lt.name] % ALIGN == 0
        assert plan.offsets[lt.name] + lt.size <= plan.total
    bound = live_lower_bound(lts)
    assert bound <= plan.total <= 1.25 * bound  # greedy-by-size is near optimal on such inputs


def test_chain_reuses_memory():
    # a -> b -> c -> d, each alive for two steps: only two buffers are ever live together.
    lts = [Lifetime(n, 1000, i, i + 1) for i, n in enumerate("abcd")]
    plan = plan_arena(lts)
    assert plan.total == 2 * align_up(1000) == plan.lower_bound()
    assert plan.offsets["a"] == plan.offsets["c"]


def test_overlap_check_catches_a_bad_plan():
    lts = (Lifetime("x", 100, 0, 2), Lifetime("y", 100, 1, 3))
    good = plan_arena(list(lts))
    bad = type(good)({"x": 0, "y": 50}, lts, 150)
    assert good.overlapping_pairs() == []
    assert bad.overlapping_pairs() == [("x", "y")]


def test_plan_is_deterministic_and_printable():
    rng = np.random.default_rng(3)
    lts = _random_lifetimes(rng, 15)
    a, b = plan_arena(lts), plan_arena(list(lts))
    assert a.offsets == b.offsets
    text = a.describe()
    assert f"arena {a.total} bytes" in text and all(lt.name in text for lt in lts)


def test_duplicate_names_rejected():
    with pytest.raises(ValueError):
        plan_arena([Lifetime("a", 1, 0, 0), Lifetime("a", 2, 1, 1)])
