"""Where mcuforge's non-Python parts live (runtime_c/, templates/, examples/) and where builds are cached.

Two layouts, found from this file: an installed wheel carries them as package data inside the
`mcuforge` package (site-packages/mcuforge/runtime_c, ...); a checkout (editable install included)
has them beside toolchain/ at the repository root.
"""
from __future__ import annotations

import os
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent  # the mcuforge package: toolchain/ in a checkout

if (_PACKAGE / "runtime_c").is_dir():  # installed from a wheel: package data
    DATA_ROOT = _PACKAGE
    REPO_ROOT: Path | None = None
else:  # a checkout
    DATA_ROOT = _PACKAGE.parent
    REPO_ROOT = DATA_ROOT

RUNTIME_C = DATA_ROOT / "runtime_c"
RUNTIME_INCLUDE = RUNTIME_C / "include"
RUNTIME_SRC = RUNTIME_C / "src"
HARNESS_C = RUNTIME_C / "harness"
PLATFORM_C = RUNTIME_C / "platform"
KERNEL_MANIFEST = RUNTIME_C / "kernels.json"
TEMPLATES = DATA_ROOT / "templates"
EXAMPLES = DATA_ROOT / "examples"
BENCH_C = DATA_ROOT / "benchmarks" / "kernels"  # kernel micro-benchmark drivers


def default_cache_dir() -> Path:
    """Build cache: $MCUFORGE_CACHE if set; in a checkout `.mcuforge-cache` at its root (ignored by git,
    removed with the clone); installed, the user's cache directory ($XDG_CACHE_HOME/mcuforge, else
    ~/.cache/mcuforge), never inside site-packages."""
    env = os.environ.get("MCUFORGE_CACHE")
    if env:
        return Path(env)
    if REPO_ROOT is not None:
        return REPO_ROOT / ".mcuforge-cache"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "mcuforge"
