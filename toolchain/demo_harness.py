"""The harness demo: build one driver for every target, run it, check it against numpy.

Kept as the foundation's end-to-end check; the full pipeline demo builds on the same calls.
"""
from __future__ import annotations

import numpy as np
from tqdm import tqdm

from .errors import McufError
from .harness import build, run
from .paths import REPO_ROOT, RUNTIME_SRC
from .targets import TARGETS


def harness_roundtrip(quiet: bool = False) -> list[dict]:
    """Run the FP16 round-trip driver on every target; one record per target, checked against numpy."""
    x = np.linspace(-4.0, 4.0, 257, dtype=np.float32)
    expected = (2.0 * x.astype(np.float16) + 1.0).astype(np.float16).astype(np.float32)
    sources = [REPO_ROOT / "tests" / "drivers" / "roundtrip.c", RUNTIME_SRC / "mcuf_convert.c"]
    records = []
    for name in tqdm(list(TARGETS), desc="targets", disable=quiet, unit="target"):
        target = TARGETS[name]
        exe = build(target, sources)
        res = run(target, exe, {"x": x, "reps": np.array(1, dtype=np.int32)})
        err = float(np.max(np.abs(res.outputs["y"] - expected)))
        if err > 0:
            raise McufError(f"round trip on {name} differs from numpy by {err}")
        records.append({"target": name, "elements": x.size, "instret": res.counts.get("transform"),
                        "max_abs_err": err, "cached": exe.cached})
    return records
