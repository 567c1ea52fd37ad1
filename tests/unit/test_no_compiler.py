"""The guard of tests/unit/conftest.py is in force: no C compiler, linker or emulator any target names
is reachable, builds fail with the harness's 'not found' error, and the build cache is empty."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mcuforge.core.errors import McufError
from mcuforge.core.paths import RUNTIME_INCLUDE, RUNTIME_SRC, default_cache_dir
from mcuforge.core.targets import TARGETS
from mcuforge.run import harness
from mcuforge.run.hostlib import load_library

from tests.conftest import DRIVERS

TOOLS = sorted({t.command for target in TARGETS.values() for t in (target.cc, target.linker, target.emulator) if t}
               | {"gcc", "cc", "c99", "clang", "clang-19", "cmake", "make", "ld", "qemu-system-riscv32"})


@pytest.mark.parametrize("tool", TOOLS)
def test_no_tool_on_path(tool):
    assert shutil.which(tool) is None, f"{tool} is reachable from tests/unit: {shutil.which(tool)}"


def test_the_cache_is_empty_and_not_the_checkouts():
    cache = default_cache_dir()
    assert cache == Path(os.environ["MCUFORGE_CACHE"]) and not any(cache.iterdir())


def test_a_build_fails_for_want_of_a_compiler(roundtrip_sources):
    with pytest.raises(McufError, match="'gcc' was not found"):
        harness.build(TARGETS["host"], roundtrip_sources)
    with pytest.raises(McufError, match="was not found"):
        harness.build(TARGETS["rv32"], [DRIVERS / "misbehave.c"])
    with pytest.raises(McufError, match="'gcc' was not found"):
        load_library([RUNTIME_SRC / "mcuf_convert.c"], headers=[RUNTIME_INCLUDE / "mcuf_convert.h"])


def test_subprocesses_see_the_same_path():
    # `mcuforge` run as a subprocess (as the CLI tests do) inherits the stripped PATH.
    proc = subprocess.run([sys.executable, "-c", "import shutil; print(shutil.which('gcc'))"],
                          capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "None"
