"""The build-and-run harness on the host and on every RISC-V target under QEMU: round trip (exact
retired-instruction counts under QEMU, none on the host), cache, cffi, and every error path (a fault, a
hang, a non-zero exit, a missing input, a missing tool) reported the way each kind of target reports it."""
from __future__ import annotations

import dataclasses
import shutil

import numpy as np
import pytest

from mcuforge.run import harness
from mcuforge.core.errors import McufError
from mcuforge.run.hostlib import load_library
from mcuforge.core.targets import TARGETS, Tool

from tests.conftest import DRIVERS, REPO, RISCV_TARGETS

HOST = TARGETS["host"]
QEMU = pytest.mark.qemu


def _expected(x: np.ndarray) -> np.ndarray:
    return (np.float16(2.0) * x.astype(np.float16) + np.float16(1.0)).astype(np.float32)


# ------------------------------------------------------------------------------------------------ round trip

def test_roundtrip_on_host(roundtrip_sources):
    x = np.linspace(-5, 5, 33, dtype=np.float32)
    res = harness.build_and_run(HOST, roundtrip_sources, {"x": x, "reps": np.array(2, np.int32)})
    np.testing.assert_array_equal(res.outputs["y"], _expected(x))
    assert res.outputs["h"].dtype == np.float16
    assert res.counts == {}  # the host has no retired-instruction counter


@QEMU
@pytest.mark.parametrize("name", RISCV_TARGETS)
def test_roundtrip_and_exact_counts_under_qemu(name, roundtrip_sources):
    target = TARGETS[name]
    exe = harness.build(target, roundtrip_sources)
    x = np.linspace(-3, 3, 64, dtype=np.float32)
    one = harness.run(target, exe, {"x": x, "reps": np.array(1, np.int32)})
    again = harness.run(target, exe, {"x": x, "reps": np.array(1, np.int32)})
    three = harness.run(target, exe, {"x": x, "reps": np.array(3, np.int32)})
    longer = harness.run(target, exe, {"x": np.tile(x, 4), "reps": np.array(1, np.int32)})
    expected = _expected(x)
    np.testing.assert_array_equal(one.outputs["y"], expected)
    np.testing.assert_array_equal(longer.outputs["y"], np.tile(expected, 4))
    n1 = one.counts["transform"]
    assert n1 > 0
    assert again.counts["transform"] == n1  # -icount shift=0: exact and repeatable
    assert three.counts["transform"] > 2.5 * n1  # grows with the work
    assert longer.counts["transform"] > 2 * n1


@QEMU
def test_vector_target_really_uses_the_vector_unit(roundtrip_sources):
    counts = {}
    for name in ("rv32-zfh", "rv32-zvfh"):
        t = TARGETS[name]
        res = harness.build_and_run(t, roundtrip_sources, {"x": np.ones(256, np.float32), "reps": np.array(1, np.int32)})
        counts[name] = res.counts["transform"]
    # Auto-vectorised at VLEN 128 the loop retires several times fewer instructions.
    assert counts["rv32-zvfh"] * 3 < counts["rv32-zfh"]


# ------------------------------------------------------------------------------------------------ build

def test_second_build_is_a_cache_hit_and_a_change_rebuilds(tmp_path, roundtrip_sources):
    srcs = []
    for s in roundtrip_sources:
        shutil.copy(s, tmp_path / s.name)
        srcs.append(tmp_path / s.name)
        for private in s.parent.glob("*.h"):  # private headers travel with their sources
            shutil.copy(private, tmp_path / private.name)
    cache = tmp_path / "cache"
    first = harness.build(HOST, srcs, cache_dir=cache)
    second = harness.build(HOST, srcs, cache_dir=cache)
    assert not first.cached and second.cached and first.path == second.path
    srcs[0].write_text(srcs[0].read_text().replace("(mcuf_f16)1.0f", "(mcuf_f16)3.0f"))
    third = harness.build(HOST, srcs, cache_dir=cache)
    assert not third.cached and third.path != first.path
    x = np.ones(4, np.float32)
    out = harness.run(HOST, third, {"x": x, "reps": np.array(1, np.int32)}).outputs["y"]
    np.testing.assert_array_equal(out, np.full(4, 5.0, np.float32))


def test_missing_compiler_names_the_debian_package(roundtrip_sources, tmp_path):
    broken = dataclasses.replace(HOST, cc=Tool("gcc-that-is-not-installed", "gcc-99"))
    with pytest.raises(McufError, match="(?s)'gcc-that-is-not-installed' was not found.*package 'gcc-99'"):
        harness.build(broken, roundtrip_sources, cache_dir=tmp_path)


def test_compile_error_carries_compiler_output(tmp_path):
    bad = tmp_path / "bad.c"
    bad.write_text("int main(void) { return undefined_name; }\n")
    with pytest.raises(McufError, match="(?s)compiling bad.c for host failed.*undefined_name"):
        harness.build(HOST, [bad], cache_dir=tmp_path / "c")


def test_cffi_loads_a_kernel_and_matches_numpy():
    ffi, lib = load_library([REPO / "runtime_c/src/mcuf_convert.c"], headers=[REPO / "runtime_c/include/mcuf_convert.h"])
    rng = np.random.default_rng(1)
    x = (rng.standard_normal(1001) * 1000).astype(np.float32)
    h = np.zeros_like(x, dtype=np.float16)
    assert lib.mcuf_convert_f32_f16(x.size, ffi.from_buffer("float[]", x), ffi.from_buffer("mcuf_f16[]", h)) == lib.MCUF_OK
    np.testing.assert_array_equal(h, x.astype(np.float16))
    assert lib.mcuf_convert_f32_f16(-1, ffi.NULL, ffi.NULL) == lib.MCUF_ERR_ARG


# ------------------------------------------------------------------------------------------------ errors at run time

# How each kind of target reports a misbehaving program (tests/drivers/misbehave.c, modes 1-3).
FAULT = {"host": "(?s)killed by signal SIGSEGV.*misbehave: mode 1",
         "rv32": r"(?s)CPU fault: store access fault at pc 0x[0-9a-f]+.*misbehave: mode 1"}
HANG_TIMEOUT = {"host": 1, "rv32": 2}  # seconds (QEMU needs longer to start)


@pytest.fixture(scope="module", params=["host", pytest.param("rv32", marks=QEMU)])
def misbehave(request):
    """(target, executable) of the misbehaving driver."""
    target = TARGETS[request.param]
    return target, harness.build(target, [DRIVERS / "misbehave.c"])


def test_fault_is_reported_with_its_cause_and_output(misbehave):
    target, exe = misbehave
    with pytest.raises(McufError, match=FAULT[target.name]):
        harness.run(target, exe, {"mode": np.array(1, np.int32)})


def test_hang_is_reported_as_timeout(misbehave):
    target, exe = misbehave
    t = HANG_TIMEOUT[target.name]
    with pytest.raises(McufError, match=f"(?s)did not finish within {t} s.*misbehave: mode 2"):
        harness.run(target, exe, {"mode": np.array(2, np.int32)}, timeout=t)


def test_nonzero_exit_is_reported_with_output(misbehave):
    target, exe = misbehave
    with pytest.raises(McufError, match="(?s)exited with status 7.*misbehave: mode 3"):
        harness.run(target, exe, {"mode": np.array(3, np.int32)})
    assert harness.run(target, exe, {"mode": np.array(0, np.int32)}).returncode == 0


def test_missing_input_file_fails_clearly(misbehave):
    target, exe = misbehave
    with pytest.raises(McufError, match="cannot open input tensor file mode.bin"):
        harness.run(target, exe, {})


@QEMU
def test_missing_emulator_names_package():
    target = TARGETS["rv32"]
    exe = harness.build(target, [DRIVERS / "misbehave.c"])  # a cache hit after the fixture's build
    t = dataclasses.replace(target, emulator=Tool("qemu-system-riscv99", "qemu-system-misc"))
    with pytest.raises(McufError, match="(?s)'qemu-system-riscv99' was not found.*apt-get install qemu-system-misc"):
        harness.run(t, exe, {"mode": np.array(0, np.int32)})
