"""The build-and-run harness on the host: round trip, cache, cffi, and every error path."""
from __future__ import annotations

import dataclasses
import shutil

import numpy as np
import pytest

from mcuforge.run import harness
from mcuforge.core.errors import McufError
from mcuforge.run.hostlib import load_library
from mcuforge.core.targets import TARGETS, Tool

from tests.conftest import DRIVERS, REPO

HOST = TARGETS["host"]


def _expected(x: np.ndarray) -> np.ndarray:
    return (np.float16(2.0) * x.astype(np.float16) + np.float16(1.0)).astype(np.float32)


def test_roundtrip_on_host(roundtrip_sources):
    x = np.linspace(-5, 5, 33, dtype=np.float32)
    res = harness.build_and_run(HOST, roundtrip_sources, {"x": x, "reps": np.array(2, np.int32)})
    np.testing.assert_array_equal(res.outputs["y"], _expected(x))
    assert res.outputs["h"].dtype == np.float16
    assert res.counts == {}  # the host has no retired-instruction counter


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


@pytest.fixture(scope="module")
def misbehave():
    return harness.build(HOST, [DRIVERS / "misbehave.c"])


def test_fault_is_reported_with_its_signal(misbehave):
    with pytest.raises(McufError, match="(?s)killed by signal SIGSEGV.*misbehave: mode 1"):
        harness.run(HOST, misbehave, {"mode": np.array(1, np.int32)})


def test_hang_is_reported_as_timeout(misbehave):
    with pytest.raises(McufError, match="did not finish within 1 s"):
        harness.run(HOST, misbehave, {"mode": np.array(2, np.int32)}, timeout=1)


def test_nonzero_exit_is_reported_with_output(misbehave):
    with pytest.raises(McufError, match="(?s)exited with status 7.*misbehave: mode 3"):
        harness.run(HOST, misbehave, {"mode": np.array(3, np.int32)})
    assert harness.run(HOST, misbehave, {"mode": np.array(0, np.int32)}).returncode == 0


def test_missing_input_file_fails_clearly(misbehave):
    with pytest.raises(McufError, match="cannot open input tensor file mode.bin"):
        harness.run(HOST, misbehave, {})


def test_cffi_loads_a_kernel_and_matches_numpy():
    ffi, lib = load_library([REPO / "runtime_c/src/mcuf_convert.c"], headers=[REPO / "runtime_c/include/mcuf_convert.h"])
    rng = np.random.default_rng(1)
    x = (rng.standard_normal(1001) * 1000).astype(np.float32)
    h = np.zeros_like(x, dtype=np.float16)
    assert lib.mcuf_convert_f32_f16(x.size, ffi.from_buffer("float[]", x), ffi.from_buffer("mcuf_f16[]", h)) == lib.MCUF_OK
    np.testing.assert_array_equal(h, x.astype(np.float16))
    assert lib.mcuf_convert_f32_f16(-1, ffi.NULL, ffi.NULL) == lib.MCUF_ERR_ARG
