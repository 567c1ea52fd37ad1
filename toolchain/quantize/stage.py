"""The quantize stage as the compile driver runs it: for a precision plan, optional SmoothQuant,
calibration, weight rounding by the chosen method, and each integer layer's weight error.

One function, `quantize_for_plan`, from the float graph and the calibration samples to a
QuantizedModel and what the report shows about it; the pieces are in the modules beside this one.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from mcuforge.core.errors import McufError
from mcuforge.core.ir import Graph
from mcuforge.core.precision import PrecisionPlan
from mcuforge.core.quantized import QuantizedModel

# How integer weights are rounded (mcuforge.quantize.weights): round to nearest; with the clipping
# scale searched for the least squared error; GPTQ; QuantEase. The last two minimise the layer's output
# error on the calibration inputs and pick their scales by the same MSE search (the best on the digits
# CNN at 2 bits: benchmarks/bench_quantizers.py).
WEIGHT_QUANTIZERS = ("rtn", "mse", "gptq", "quantease")
ERROR_SAMPLES = 64  # calibration samples the weight-error report reads when no statistics exist yet


@dataclass(frozen=True)
class QuantizeOptions:
    calib_method: str = "minmax"
    weight_quantizer: str = "rtn"
    smoothquant: float | None = None  # SmoothQuant's alpha
    quiet: bool = False


@dataclass(frozen=True)
class Quantized:
    """graph: the float graph the model was quantized from (SmoothQuant rescales its weights);
    model: the QuantizedModel; weight_errors: ||WX - Q(W)X||^2 / ||WX||^2 per integer weight layer;
    notes: what the report should say."""

    graph: Graph
    model: QuantizedModel
    weight_errors: dict[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


def check_options(opts: QuantizeOptions, plan: PrecisionPlan) -> None:
    """Refuse options this plan cannot honour (before any work is done)."""
    if opts.weight_quantizer not in WEIGHT_QUANTIZERS:
        raise McufError(f"--weight-quantizer '{opts.weight_quantizer}' is not one of {', '.join(WEIGHT_QUANTIZERS)}")
    if opts.smoothquant is not None and not (0.0 < opts.smoothquant <= 1.0):
        raise McufError(f"--smoothquant {opts.smoothquant}: alpha must be in (0, 1] (0.5 is the usual choice)")
    if opts.smoothquant is not None and not plan.int8_layers:
        raise McufError("--smoothquant eases int8 activations, and this compile has no int8 layer: drop the flag "
                        "or choose an integer precision")
    if opts.weight_quantizer != "rtn" and not plan.int8_layers:
        raise McufError(f"--weight-quantizer {opts.weight_quantizer} rounds integer weights, and this compile has "
                        "none (every layer is fp32 or fp16): drop the flag or choose an integer precision")


def _stats(graph: Graph, samples: Sequence, layers: list[str], what: str, quiet: bool):
    from tqdm import tqdm

    from mcuforge.quantize.layer_inputs import collect_layer_stats

    stream = tqdm(samples, desc=what, unit="sample", disable=quiet, leave=False)
    return collect_layer_stats(graph, stream, layers=layers)


def quantize_for_plan(graph: Graph, plan: PrecisionPlan, samples: Sequence, opts: QuantizeOptions) -> Quantized:
    """Quantize the plan's int8 layers (weights at the plan's widths) with calibration `samples`."""
    from mcuforge.quantize.calibrate import calibrate
    from mcuforge.quantize.layerwise import output_errors
    from mcuforge.quantize.quantizer import quantize_graph
    from mcuforge.quantize.smoothquant import smooth_graph

    check_options(opts, plan)
    bits = {n: plan.of(n).weight_bits for n in plan.weight_layers if n in plan.int8_layers}
    layers = sorted(bits)
    notes = []
    if opts.smoothquant is not None:
        stats = _stats(graph, samples, layers, "activation ranges per channel", opts.quiet)
        graph, factors = smooth_graph(graph, stats, opts.smoothquant, layers=layers)
        notes.append(f"SmoothQuant (alpha {opts.smoothquant:g}): {len(factors)} layer(s) took activation range "
                     f"into their weights ({', '.join(sorted(factors)) or 'none had a foldable producer'})")
    ranges = calibrate(graph, samples, method=opts.calib_method, quiet=opts.quiet)
    method, options, stats = opts.weight_quantizer, {}, None
    if method == "mse":
        options = {"method": "mse"}
    elif method in ("gptq", "quantease"):
        stats = _stats(graph, samples, layers, "layer statistics", opts.quiet)
        options = {"method": method, "stats": stats, "scale_search": "mse"}
    model = quantize_graph(graph, ranges, bits, layers=plan.int8_layers, **options)
    errors = {}
    if layers and samples:
        if stats is None:
            stats = _stats(graph, list(samples)[:ERROR_SAMPLES], layers, "layer errors", opts.quiet)
        errors = output_errors(graph, model, stats)
    return Quantized(graph, model, errors, tuple(notes))
