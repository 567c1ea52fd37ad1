"""Activation ranges from sample data, with onnxruntime's calibrators.

The normalised graph is written back to float ONNX (mcuforge.frontend.to_onnx.to_onnx) and handed to
`onnxruntime.quantization.calibrate.create_calibrator`; the ranges of every float activation of the
graph (inputs, node outputs and, for fused activations, the pre-activation tensors named by
`graph_onnx.preact_name`) come back as (min, max).
"""
from __future__ import annotations

import contextlib
import io
import tempfile
from pathlib import Path
from typing import Iterator

import numpy as np
import onnx

from mcuforge.core.errors import McufError
from mcuforge.frontend.to_onnx import preact_name, to_onnx
from mcuforge.core.ir import Graph

METHODS = ("minmax", "percentile", "entropy")


def activation_tensors(graph: Graph) -> list[str]:
    """Float activations that get quantization parameters: graph inputs, node outputs and the
    pre-activation tensor of every fused activation."""
    names = [t.name for t in graph.inputs if t.dtype == "float32"]
    for n in graph.nodes:
        for o in n.outputs:
            if o and graph.tensors[o].dtype == "float32":
                names.append(o)
        if "activation" in n.attrs:
            names.append(preact_name(n.outputs[0]))
    return names


def calibrate(graph: Graph, samples: list[dict[str, np.ndarray]], method: str = "minmax",
              quiet: bool = False, percentile: float = 99.999, num_bins: int | None = None
              ) -> dict[str, tuple[float, float]]:
    """Range (min, max) of every activation tensor (see `activation_tensors`) over `samples`.

    method: "minmax" (running min/max), "percentile" (`percentile` of |x| histogram, asymmetric
    here), "entropy" (KL-divergence threshold). Shows a tqdm bar over the samples unless `quiet`."""
    from onnxruntime.quantization.calibrate import (CalibrationDataReader, CalibrationMethod,
                                                    create_calibrator)

    if method not in METHODS:
        raise McufError(f"calibration method '{method}' is unknown; choose one of {', '.join(METHODS)}")
    if not samples:
        raise McufError("calibration needs at least one sample")
    cm = {"minmax": CalibrationMethod.MinMax, "percentile": CalibrationMethod.Percentile,
          "entropy": CalibrationMethod.Entropy}[method]
    # asymmetric everywhere: activations are quantized asymmetric (uint-like ranges after ReLU)
    extra: dict = {"symmetric": False}
    if method == "percentile":
        extra["percentile"] = percentile
        extra["num_bins"] = num_bins or 2048
    elif method == "entropy":
        extra["num_bins"] = num_bins or 128
        extra["num_quantized_bins"] = 128

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._it: Iterator[dict[str, np.ndarray]] = iter(_progress(samples, quiet, f"calibrate ({method})"))

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self._it, None)

    wanted = activation_tensors(graph)
    with tempfile.TemporaryDirectory(prefix="mcuf_calib_") as tmp:
        model_path = Path(tmp) / "float.onnx"
        onnx.save(to_onnx(graph), str(model_path))
        out = io.StringIO()
        with contextlib.redirect_stdout(out) if quiet or method != "minmax" else contextlib.nullcontext():
            calibrator = create_calibrator(model_path, op_types_to_calibrate=None,
                                           augmented_model_path=str(Path(tmp) / "augmented.onnx"),
                                           calibrate_method=cm, extra_options=extra,
                                           providers=["CPUExecutionProvider"])
            try:
                calibrator.collect_data(Reader())
                data = calibrator.compute_data()
            except Exception as e:
                raise McufError(f"calibration failed in onnxruntime: {e}") from None
    ranges: dict[str, tuple[float, float]] = {}
    for name in wanted:
        if name not in data.data:
            raise McufError(f"calibration produced no range for tensor '{name}'")
        lo, hi = data.data[name].range_value
        ranges[name] = (float(np.min(lo)), float(np.max(hi)))
    return ranges


def _progress(samples: list, quiet: bool, desc: str):
    if quiet:
        return samples
    from tqdm import tqdm

    return tqdm(samples, desc=desc, unit="sample")
