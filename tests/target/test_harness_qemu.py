"""The harness on every RISC-V target under QEMU: round trip, exact counts, error paths."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from mcuforge.run import harness
from mcuforge.core.errors import McufError
from mcuforge.core.targets import TARGETS, Tool

from tests.conftest import DRIVERS, RISCV_TARGETS

pytestmark = pytest.mark.qemu


@pytest.mark.parametrize("name", RISCV_TARGETS)
def test_roundtrip_and_exact_counts(name, roundtrip_sources):
    target = TARGETS[name]
    exe = harness.build(target, roundtrip_sources)
    x = np.linspace(-3, 3, 64, dtype=np.float32)
    one = harness.run(target, exe, {"x": x, "reps": np.array(1, np.int32)})
    again = harness.run(target, exe, {"x": x, "reps": np.array(1, np.int32)})
    three = harness.run(target, exe, {"x": x, "reps": np.array(3, np.int32)})
    longer = harness.run(target, exe, {"x": np.tile(x, 4), "reps": np.array(1, np.int32)})
    expected = (np.float16(2.0) * x.astype(np.float16) + np.float16(1.0)).astype(np.float32)
    np.testing.assert_array_equal(one.outputs["y"], expected)
    np.testing.assert_array_equal(longer.outputs["y"], np.tile(expected, 4))
    n1 = one.counts["transform"]
    assert n1 > 0
    assert again.counts["transform"] == n1  # -icount shift=0: exact and repeatable
    assert three.counts["transform"] > 2.5 * n1  # grows with the work
    assert longer.counts["transform"] > 2 * n1


def test_vector_target_really_uses_the_vector_unit(roundtrip_sources):
    counts = {}
    for name in ("rv32-zfh", "rv32-zvfh"):
        t = TARGETS[name]
        res = harness.build_and_run(t, roundtrip_sources, {"x": np.ones(256, np.float32), "reps": np.array(1, np.int32)})
        counts[name] = res.counts["transform"]
    # Auto-vectorised at VLEN 128 the loop retires several times fewer instructions.
    assert counts["rv32-zvfh"] * 3 < counts["rv32-zfh"]


@pytest.fixture(scope="module")
def misbehave_rv():
    return harness.build(TARGETS["rv32"], [DRIVERS / "misbehave.c"])


def test_fault_reports_cause_and_output(misbehave_rv):
    with pytest.raises(McufError, match=r"(?s)CPU fault: store access fault at pc 0x[0-9a-f]+.*misbehave: mode 1"):
        harness.run(TARGETS["rv32"], misbehave_rv, {"mode": np.array(1, np.int32)})


def test_hang_reports_timeout(misbehave_rv):
    with pytest.raises(McufError, match="(?s)did not finish within 2 s.*misbehave: mode 2"):
        harness.run(TARGETS["rv32"], misbehave_rv, {"mode": np.array(2, np.int32)}, timeout=2)


def test_exit_status_reported(misbehave_rv):
    with pytest.raises(McufError, match="exited with status 7"):
        harness.run(TARGETS["rv32"], misbehave_rv, {"mode": np.array(3, np.int32)})


def test_missing_emulator_names_package(misbehave_rv):
    t = dataclasses.replace(TARGETS["rv32"], emulator=Tool("qemu-system-riscv99", "qemu-system-misc"))
    with pytest.raises(McufError, match="(?s)'qemu-system-riscv99' was not found.*apt-get install qemu-system-misc"):
        harness.run(t, misbehave_rv, {"mode": np.array(0, np.int32)})
