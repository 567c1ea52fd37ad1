"""ONNX backend node tests, compiled at fp32 and run on the host (see tests/support/conformance.py)."""
from __future__ import annotations

import pytest

from tests.support import conformance as cs

CASES = cs.collect()
TARGET = "host"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return cs.run_bundle([c for c in CASES if not c.skip], TARGET, tmp_path_factory.mktemp("conformance"))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_node_case(case, bundle, conformance_results):
    cs.check_case(case, bundle, conformance_results, TARGET)
