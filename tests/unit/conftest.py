"""tests/unit needs no C compiler, and this makes sure of it: every test here runs with a PATH that holds
only the Python interpreter (no gcc, cc, clang, riscv64-unknown-elf-*, qemu, cmake) and an empty
MCUFORGE_CACHE, and in-process caches of compiled test libraries are dropped first, so neither a
cached build nor a library another folder's tests loaded earlier in the session can stand in for a
compiler. A unit test that starts needing one fails here (harness and cffi builds raise "'gcc' was not
found"); it belongs in tests/host (gcc) or tests/target (RISC-V toolchain + QEMU) instead."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def python_only_bin(tmp_path_factory) -> Path:
    """A folder holding only `python` and `python3` (links to this interpreter)."""
    d = tmp_path_factory.mktemp("python-only-bin")
    for name in ("python", "python3"):
        os.symlink(sys.executable, d / name)
    return d


def _drop_compiled_library_caches() -> None:
    """Clear the lru caches of helper and test modules outside tests/unit (the cffi `lib()`s)."""
    for name, mod in list(sys.modules.items()):
        if not name.startswith("tests.") or name.startswith("tests.unit"):
            continue
        for obj in list(vars(mod).values()):
            if callable(getattr(obj, "cache_clear", None)) and getattr(obj, "__module__", None) == name:
                obj.cache_clear()


@pytest.fixture(autouse=True)
def no_c_compiler(python_only_bin, tmp_path_factory, monkeypatch):
    monkeypatch.setenv("PATH", str(python_only_bin))
    monkeypatch.setenv("MCUFORGE_CACHE", str(tmp_path_factory.mktemp("empty-cache")))
    _drop_compiled_library_caches()
    yield
