"""`mcuforge run`: build a compiled folder's C library for its target, run it on samples, collect outputs.

The generated library is driven by templates/run_driver.c.j2 through the harness, natively on the host
or under QEMU, where retired instructions per inference are exact.
"""
from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import jinja2
import numpy as np

from mcuforge.run import harness
from mcuforge.core.errors import McufError
from mcuforge.core.paths import TEMPLATES
from mcuforge.core.targets import Target, get_target

META_FILE = "mcuforge.json"


@dataclass(frozen=True)
class RunStats:
    """What a run measured; `cost_per_inference` is None on the host (no exact counter)."""

    target: str
    samples: int
    cost_per_inference: float | None
    arena_bytes: int
    flash_bytes: int
    layer_costs: tuple[int, ...] = ()

    def as_json(self) -> dict:
        return {"target": self.target, "samples": self.samples, "cost_per_inference": self.cost_per_inference,
                "arena_bytes": self.arena_bytes, "flash_bytes": self.flash_bytes}


def read_meta(out_dir: Path) -> dict:
    """The compile folder's description (written by compile), with a clear error if it is not one."""
    p = Path(out_dir) / META_FILE
    if not p.is_file():
        raise McufError(f"'{out_dir}' is not a folder written by 'mcuforge compile' (no {META_FILE}); "
                        "compile the model first")
    return json.loads(p.read_text())


def c_sources(c_dir: Path, name: str) -> tuple[list[Path], list[Path]]:
    """Sources and include dirs of a generated C project."""
    srcs = [c_dir / "src" / f"{name}.c", c_dir / "src" / f"{name}_weights.c",
            *sorted((c_dir / "kernels" / "src").glob("*.c"))]
    incs = [c_dir / "include", c_dir / "src", c_dir / "kernels" / "include", c_dir / "kernels" / "src"]
    return srcs, incs


# How many runs a data set is split into at most (for the progress bar): few enough that QEMU's
# start-up (~50 ms a run) stays small next to the work, enough that the bar moves.
CHUNKS = 20


def run_library(c_dir: Path, meta: dict, target: Target, inputs: Sequence[np.ndarray],
                profile: bool = False, timeout: float = 600.0, quiet: bool = True) -> tuple[list[np.ndarray], RunStats]:
    """Run the generated library on N samples: `inputs[i]` is [N, *shape_i]; returns outputs [N, *shape].

    The samples go through in up to CHUNKS runs of one build (the driver reads how many samples each
    run holds from its input files), with a progress bar unless `quiet`; `timeout` is per run."""
    from tqdm import tqdm

    name = meta["name"]
    n = int(inputs[0].shape[0]) if inputs else 1
    chunk = max(1, -(-n // CHUNKS))
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    driver_src = env.get_template("run_driver.c.j2").render(
        name=name, NAME=name.upper(), n_samples=chunk, inputs=meta["inputs"], outputs=meta["outputs"],
        profile=profile, n_layers=meta["n_layers"])
    srcs, incs = c_sources(Path(c_dir), name)
    with tempfile.TemporaryDirectory(prefix="mcuf-driver-") as tmp:
        drv = Path(tmp) / f"run_{name}.c"
        drv.write_text(driver_src)
        defines = {f"{name.upper()}_PROFILE": None} if profile else {}
        exe = harness.build(target, [drv, *srcs], incs, defines)
    parts: list[list[np.ndarray]] = [[] for _ in meta["outputs"]]
    total: int | None = 0
    layer_costs: tuple[int, ...] = ()
    where = "under QEMU " if target.emulated else ""
    with tqdm(total=n, desc=f"run {where}{target.name}", unit="sample", disable=quiet or n <= 1) as bar:
        for start in range(0, n, chunk):
            feeds = {f"in{i}": np.ascontiguousarray(a[start:start + chunk], dtype=np.float32) for i, a in enumerate(inputs)}
            res = harness.run(target, exe, feeds, timeout=timeout)
            got = min(chunk, n - start)
            for i, o in enumerate(meta["outputs"]):
                parts[i].append(res.outputs[f"out{i}"].reshape((got, *o["shape"])))
            count = res.counts.get("inferences")
            total = None if count is None or total is None else total + count
            if profile and count is not None:  # the driver marks the layers of its last inference
                layer_costs = tuple(res.counts[f"layer{i}"] for i in range(meta["n_layers"]))
            bar.update(got)
    outs = [np.concatenate(p) for p in parts]
    stats = RunStats(target.name, n, (total / n) if total is not None else None, int(meta["arena_bytes"]),
                     int(meta["flash_bytes"]), layer_costs)
    return outs, stats


def run_folder(out_dir: Path, samples: list[dict[str, np.ndarray]], target_name: str | None = None,
               timeout: float = 600.0, quiet: bool = True) -> tuple[dict[str, np.ndarray], RunStats]:
    """`mcuforge run`: outputs by ONNX output name, [N, *shape], and the run's stats (progress bar unless `quiet`)."""
    meta = read_meta(out_dir)
    target = get_target(target_name or meta["target"])
    arrays = [np.stack([s[i["name"]] for s in samples]).astype(np.float32) for i in meta["inputs"]]
    outs, stats = run_library(Path(out_dir) / "c", meta, target, arrays, timeout=timeout, quiet=quiet)
    return {o["name"]: v for o, v in zip(meta["outputs"], outs)}, stats
