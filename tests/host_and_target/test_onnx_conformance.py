"""ONNX backend node tests, compiled at fp32 and run on the host and under QEMU for rv32 (see
tests/support/conformance.py): one driver per target runs every in-scope case."""
from __future__ import annotations

import pytest

from tests.support import conformance as cs

CASES = cs.collect()


@pytest.fixture(scope="module")
def bundle(target, tmp_path_factory):
    return cs.run_bundle([c for c in CASES if not c.skip], target, tmp_path_factory.mktemp(f"conformance-{target}"))


# module scope: one bundle (one build, one run) per target, all of its cases checked against it
@pytest.mark.parametrize("target", ["host", pytest.param("rv32", marks=pytest.mark.qemu)], scope="module")
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_node_case(case, target, bundle, conformance_results):
    cs.check_case(case, bundle, conformance_results, target)
