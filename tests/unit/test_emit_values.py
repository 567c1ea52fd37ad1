"""C spelling of constants: every float32 reads back bit-exactly."""
from __future__ import annotations

import numpy as np

from mcuforge.codegen.emit import array_lines, c_float, c_value


def test_float_literals_round_trip_exactly():
    rng = np.random.default_rng(0)
    vals = np.concatenate([rng.standard_normal(2000).astype(np.float32) * 10.0 ** rng.integers(-30, 30, 2000),
                           np.array([0.0, -0.0, 1.0, 1e-45, 3.4028235e38], np.float32)]).astype(np.float32)
    for v in vals:
        text = c_float(float(v))
        assert text.endswith("f")
        assert np.float32(float(text[:-1])) == v


def test_special_values_and_params():
    assert c_float(float("inf")) == "INFINITY" and c_float(float("-inf")) == "-INFINITY"
    assert c_value(True) == "1" and c_value(np.int32(-3)) == "-3"
    assert c_value((1, 2.5)) == "{1, 2.5f}"
    assert c_value("model_w") == "model_w"  # strings are C expressions (symbols, enums)


def test_array_lines_cover_every_value():
    vals = np.arange(-20, 20, dtype=np.int8)
    body = " ".join(array_lines("int8_t", vals))
    assert [int(x) for x in body.replace(",", " ").split()] == list(range(-20, 20))
