"""The arena planner: never overlaps live buffers, lands near the lower bound, is deterministic."""
from __future__ import annotations

import numpy as np
import pytest

from mcuforge.codegen.memory import ALIGN, Lifetime, align_up, live_lower_bound, plan_arena


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


def test_elastic_buffer_grows_into_the_hole_left_by_fixed_buffers():
    # Step 0: a and b (3000 + 1000 bytes) live; step 1: only a and an elastic scratch that works
    # from 400 bytes and would like 10000. Packed, the arena is a + b = 4000 bytes; at step 1 the
    # scratch may take everything above a, in whole 400-byte bands.
    a, b = Lifetime("a", 3008, 0, 1), Lifetime("b", 1008, 0, 0)
    s = Lifetime("s", 400, 1, 1, max_size=10000)
    plan = plan_arena([a, b, s])
    assert plan.overlapping_pairs() == []
    assert plan.total == align_up(3008) + align_up(1008)
    size = {lt.name: lt.size for lt in plan.lifetimes}["s"]
    assert size == (plan.total - align_up(3008)) // 400 * 400
    # With room to spare under grow_limit it takes its preferred size and no more.
    roomy = plan_arena([a, b, s], grow_limit=20000)
    assert {lt.name: lt.size for lt in roomy.lifetimes}["s"] == 10000
    assert roomy.total == align_up(3008) + align_up(10000)
    assert roomy.overlapping_pairs() == []


def test_elastic_buffer_grows_in_whole_quanta_above_its_minimum():
    # A banded conv whose least scratch (one row, output channels staged in groups) is 400 bytes but
    # whose wider bands come in whole rows of 1000: the room above `a` at step 1 (b's bytes, packed)
    # gives it the most whole rows that fit, and never less than its 400-byte minimum.
    for b_size, expect in ((2512, 2000), (1008, 1000), (608, 400)):
        a, b = Lifetime("a", 3008, 0, 1), Lifetime("b", b_size, 0, 0)
        s = Lifetime("s", 400, 1, 1, max_size=10000, quantum=1000)
        plan = plan_arena([a, b, s])
        assert plan.overlapping_pairs() == []
        assert plan.total == align_up(3008) + align_up(b_size)
        assert {lt.name: lt.size for lt in plan.lifetimes}["s"] == expect


def test_large_preferred_scratch_does_not_spread_the_tensors():
    # A residual block: r lives across the block, t1 -> t2 through two convs with scratch. At their
    # preferred sizes the scratch buffers would be placed first (largest first) and push r, t1 and
    # t2 apart; placed at their minimum, the arena is the busiest step with one band each.
    lts = [Lifetime("r", 6400, 0, 3), Lifetime("s1", 1600, 1, 1, max_size=30000), Lifetime("t1", 6400, 1, 2),
           Lifetime("s2", 1600, 2, 2, max_size=30000), Lifetime("t2", 6400, 2, 3)]
    at_min = [Lifetime(l.name, l.size, l.first, l.last) for l in lts]
    plan = plan_arena(lts, grow_limit=int(1.08 * live_lower_bound(l for l in at_min if not l.name.startswith("s"))))
    assert plan.overlapping_pairs() == []
    assert plan.total == live_lower_bound(at_min) == 3 * 6400 + 1600
    sizes = {lt.name: lt.size for lt in plan.lifetimes}
    for name in ("s1", "s2"):
        assert sizes[name] >= 1600 and (sizes[name] % 1600 == 0 or sizes[name] == 30000)
    # At step 1 only r and t1 are live: s1 gets the rest of the arena in whole bands.
    assert sizes["s1"] == (plan.total - 2 * 6400) // 1600 * 1600


@pytest.mark.parametrize("seed", range(10))
def test_random_elastic_plans_stay_sound_and_within_limit(seed):
    rng = np.random.default_rng(100 + seed)
    lts = _random_lifetimes(rng, 30)
    for i in range(8):
        step, least = int(rng.integers(0, 30)), int(rng.integers(1, 20)) * 64
        lts.append(Lifetime(f"s{i}", least, step, step, max_size=least * int(rng.integers(2, 40))))
    at_min = [Lifetime(l.name, l.size, l.first, l.last) for l in lts]
    limit = int(1.1 * live_lower_bound(at_min))
    plan = plan_arena(lts, grow_limit=limit)
    packed = plan_arena(at_min)
    assert plan.overlapping_pairs() == []
    assert plan.total <= max(packed.total, limit)
    for lt, orig in zip(plan.lifetimes, lts):
        assert lt.name == orig.name and plan.offsets[lt.name] + lt.size <= plan.total
        if orig.max_size:
            assert orig.size <= lt.size <= orig.max_size
            assert lt.size % orig.size == 0 or lt.size == orig.max_size
        else:
            assert lt.size == orig.size
