"""Where the repository's non-Python parts live (runtime_c/, templates/), found from this file."""
from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
RUNTIME_C = REPO_ROOT / "runtime_c"
RUNTIME_INCLUDE = RUNTIME_C / "include"
RUNTIME_SRC = RUNTIME_C / "src"
HARNESS_C = RUNTIME_C / "harness"
PLATFORM_C = RUNTIME_C / "platform"
TEMPLATES = REPO_ROOT / "templates"


def default_cache_dir() -> Path:
    """Build cache inside the checkout: cheap to find, ignored by git, removed with the clone."""
    return REPO_ROOT / ".mcuforge-cache"
