"""Shared fixtures: repository paths and the drivers used by harness tests."""
from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DRIVERS = REPO / "tests" / "drivers"
RISCV_TARGETS = ("rv32", "rv32-zfh", "rv32-zvfh")


@pytest.fixture
def roundtrip_sources() -> list[Path]:
    return [DRIVERS / "roundtrip.c", REPO / "runtime_c" / "src" / "mcuf_convert.c"]


_CONFORMANCE: dict = {}


@pytest.fixture(scope="session")
def conformance_results() -> dict:
    """(target, case) -> 'pass' | 'fail' | 'skip', printed per op family at the end of the run."""
    return _CONFORMANCE


def pytest_terminal_summary(terminalreporter):
    if not _CONFORMANCE:
        return
    from tests.support import conformance as cs

    for target in sorted({t for t, _ in _CONFORMANCE}):
        res = {name: r for (t, name), r in _CONFORMANCE.items() if t == target}
        cases = tuple(c for c in cs.collect() if c.name in res)
        terminalreporter.write_sep("-", f"ONNX node-test conformance, fp32 on {target}")
        terminalreporter.write_line(cs.summarize(cases, res))
