"""ONNX backend node tests, compiled at fp32 and run under QEMU for rv32 (see tests/conformance_support.py)."""
from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.qemu

from .. import conformance_support as cs

CASES = cs.collect()
TARGET = "rv32"


@pytest.fixture(scope="module")
def bundle():
    return cs.run_bundle([c for c in CASES if not c.skip], TARGET, cs.scratch_dir())


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_node_case(case, bundle, conformance_results):
    if case.skip:
        conformance_results[(TARGET, case.name)] = "skip"
        pytest.skip(f"out of scope: {case.skip}")
    conformance_results[(TARGET, case.name)] = "fail"
    assert case.name not in bundle.compile_errors, bundle.compile_errors.get(case.name)
    got = bundle.outputs[case.name]
    for (name, want), out in zip(case.outputs, got):
        np.testing.assert_allclose(out, want, rtol=case.rtol, atol=case.atol, err_msg=f"output {name}")
    conformance_results[(TARGET, case.name)] = "pass"
