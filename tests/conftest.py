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
