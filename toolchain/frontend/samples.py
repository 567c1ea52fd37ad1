"""Read sample files (`.npz`) by DESIGN.md's rules.

One array per model input, named as the ONNX input, and an optional `labels` array (class indices).
An array whose shape equals the input's shape is one sample; [N, *input_shape] is N samples; for a
batch-1 input [1, ...], an array [N, ...] (same trailing dims) is also N samples.
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

import numpy as np

from mcuforge.core.errors import McufError
from mcuforge.core.ir import Graph


def split_samples(arrays: Mapping[str, np.ndarray], graph: Graph, origin: str = "samples"
                  ) -> tuple[list[dict[str, np.ndarray]], np.ndarray | None]:
    """Split named arrays into per-sample feeds {input name: array of the input's shape}."""
    per_input: dict[str, np.ndarray] = {}
    counts = {}
    for ti in graph.inputs:
        if ti.name not in arrays:
            raise McufError(f"{origin}: no array named '{ti.name}' (model input, shape {list(ti.shape)}); "
                            f"arrays present: {sorted(arrays)}")
        a = np.asarray(arrays[ti.name])
        shape = tuple(ti.shape)
        if a.shape == shape:
            a = a[None]
        elif a.shape[1:] == shape:
            pass
        elif shape and shape[0] == 1 and a.shape[1:] == shape[1:] and a.ndim == len(shape):
            a = a.reshape((a.shape[0], *shape))
        else:
            raise McufError(f"{origin}: array '{ti.name}' has shape {list(a.shape)}; expected {list(shape)} "
                            f"(one sample) or [N, {', '.join(map(str, shape))}] (N samples)")
        try:
            per_input[ti.name] = a.astype(ti.dtype, copy=False)
        except (TypeError, ValueError) as e:
            raise McufError(f"{origin}: array '{ti.name}' of dtype {a.dtype} cannot be read as {ti.dtype}: {e}") from None
        counts[ti.name] = a.shape[0]
    if len(set(counts.values())) > 1:
        raise McufError(f"{origin}: inputs have different sample counts: {counts}")
    n = next(iter(counts.values()), 0)
    labels = None
    if "labels" in arrays:
        labels = np.asarray(arrays["labels"]).reshape(-1)
        if labels.shape[0] != n:
            raise McufError(f"{origin}: 'labels' has {labels.shape[0]} entries for {n} samples")
    samples = [{k: v[i] for k, v in per_input.items()} for i in range(n)]
    return samples, labels


def load_samples(path: str | Path, graph: Graph) -> tuple[list[dict[str, np.ndarray]], np.ndarray | None]:
    """Samples (one feed dict per sample, arrays of the input's exact shape) and labels (or None)."""
    path = Path(path)
    if not path.exists():
        raise McufError(f"sample file '{path}' does not exist")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except Exception as e:
        raise McufError(f"cannot read '{path}' as a .npz file: {e}") from None
    return split_samples(arrays, graph, origin=str(path))
