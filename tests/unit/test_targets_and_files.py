"""Targets are plain data; tensor files round-trip; bad input gets a clear error."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from mcuforge.run import tensorfile
from mcuforge.core.errors import McufError
from mcuforge.core.targets import TARGETS, get_target


def test_every_target_names_its_tools_and_packages():
    for t in TARGETS.values():
        assert t.cc.package and t.linker.package
        if t.emulated:
            assert "{elf}" in t.emulator_args and "-icount" in t.emulator_args
    assert get_target("rv32-zvfh").vector_bits == 128
    assert any("zvfh" in f for f in get_target("rv32-zvfh").cflags)
    assert get_target("host").cost_unit is None


def test_target_is_replaceable_data():
    t = dataclasses.replace(get_target("rv32"), name="myboard")
    assert t.name == "myboard" and t.cflags == get_target("rv32").cflags


def test_unknown_target_lists_known_ones():
    with pytest.raises(McufError, match="unknown target 'rv64'.*rv32-zfh"):
        get_target("rv64")


@pytest.mark.parametrize("dtype", ["float32", "float16", "int8", "uint8", "int16", "int32", "uint16", "uint32", "float64"])
@pytest.mark.parametrize("shape", [(), (5,), (2, 3, 4)])
def test_tensorfile_roundtrip(dtype, shape):
    rng = np.random.default_rng(0)
    a = (rng.standard_normal(shape) * 50).astype(dtype)
    b = tensorfile.decode(tensorfile.encode(a))
    assert b.dtype == a.dtype and b.shape == a.shape
    np.testing.assert_array_equal(a, b)


def test_tensorfile_rejects_bad_data():
    with pytest.raises(McufError, match="not a tensor file"):
        tensorfile.decode(b"nonsense-bytes", "x.bin")
    good = tensorfile.encode(np.zeros(4, np.float32))
    with pytest.raises(McufError, match="x.bin: data holds 12 bytes"):
        tensorfile.decode(good[:-4], "x.bin")
    with pytest.raises(McufError, match="complex128"):
        tensorfile.encode(np.zeros(2, np.complex128))
