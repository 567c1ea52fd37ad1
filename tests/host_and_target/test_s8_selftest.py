"""runtime_c/tests/test_s8.c: hand-computed int8 kernel cases with their own main, built and run natively
on the host and under QEMU for rv32 (exits non-zero on a failure)."""
from __future__ import annotations

import pytest

from mcuforge.core.paths import RUNTIME_C
from mcuforge.core.targets import TARGETS
from mcuforge.run import harness

from tests.support.s8_reference import SOURCES


@pytest.mark.parametrize("target", ["host", pytest.param("rv32", marks=pytest.mark.qemu)])
def test_c_unit_test_passes(target):
    exe = harness.build(TARGETS[target], [RUNTIME_C / "tests/test_s8.c", *SOURCES], with_io=False)
    res = harness.run(TARGETS[target], exe, {})
    assert "test_s8: 0 failures" in res.stdout
