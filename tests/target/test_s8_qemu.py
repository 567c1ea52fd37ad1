"""int8 conv / depthwise / fc kernels under QEMU (rv32, rv32-zvfh): one driver runs the whole case table; every
output must equal the host's bit for bit (and so the integer numpy reference)."""
from __future__ import annotations

import numpy as np
import pytest

from mcuforge.run import harness
from mcuforge.core.targets import TARGETS

from tests.support.s8_reference import (CONV_CASES, DW_CASES, FC_CASES, SOURCES, SUBBYTE_CONV_CASES, SUBBYTE_DW_CASES, SUBBYTE_FC_CASES, S8_DRIVER, QuantConv, conv_ref, driver_inputs, fc_ref,
                           make_conv, make_fc, run_conv, run_fc, split_outputs)

pytestmark = pytest.mark.qemu


# rv32-zvfh too: clang auto-vectorises these integer loops there (another code path to get right).
@pytest.mark.parametrize("name", ["rv32", "rv32-zvfh"])
@pytest.mark.parametrize("fc_packed", [False, True], ids=["fc_rows", "fc_packed"])
def test_s8_table_on_riscv_matches_host_bit_exactly(name, fc_packed):
    items = ([make_conv(c) for c in CONV_CASES + DW_CASES + SUBBYTE_CONV_CASES + SUBBYTE_DW_CASES] +
             [make_fc(c) for c in FC_CASES + SUBBYTE_FC_CASES])
    inputs, outs = driver_inputs(items, fc_packed)
    target = TARGETS[name]
    exe = harness.build(target, [S8_DRIVER, *SOURCES])
    res = harness.run(target, exe, inputs)
    got = split_outputs(res.outputs["out"], outs)
    for i, (q, g) in enumerate(zip(items, got)):
        host, _ = run_conv(q) if isinstance(q, QuantConv) else run_fc(q, fc_packed)
        ref = conv_ref(q) if isinstance(q, QuantConv) else fc_ref(q)
        np.testing.assert_array_equal(g, host, err_msg=f"case {i}: {q.case}")
        np.testing.assert_array_equal(g, ref, err_msg=f"case {i}: {q.case}")
        assert res.counts[f"case{i}"] > 0

