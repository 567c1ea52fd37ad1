"""`mcuforge compile`: the pipeline driver, the one place that calls toolchain stages and codegen in order.

    load & normalise -> plan per-layer precision -> (calibrate -> quantize -> export QDQ) -> lower
    -> emit C -> measure -> report

Everything is written to a temporary folder beside the destination and renamed into place at the
end, so a failed compile leaves no half-written output behind.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx

from mcuforge.core.version import __version__
from mcuforge.core.errors import McufError
from mcuforge.core.ir import Graph
from mcuforge.core.precision import UNIFORM
from mcuforge.quantize.stage import QuantizeOptions, check_options, quantize_for_plan
from mcuforge.run.runner import META_FILE
from mcuforge.core.targets import get_target

PRECISIONS = ("fp32", "fp16", "int8", "int4", "int2", "mixed")
# --bits N as a --precision: the uniform pair with N-bit weights and int8 activations
BITS_PRECISION = {p.weight_bits: name for name, p in UNIFORM.items() if p.activations == "int8"}


@dataclass(frozen=True)
class CompileConfig:
    """Everything `compile` needs, read from the command line by the CLI and nowhere else."""

    model: Path
    out: Path
    target: str
    calib: Path | None = None
    precision: str = "mixed"
    allocation: Path | None = None  # per-layer precisions fixed by the user (allocation.json shape)
    bits: tuple[int, ...] | None = None  # candidate weight bits for mixed; one value = uniform W<b>A8
    latency_budget: float | None = None
    flash_budget: int | None = None
    ram_budget: int | None = None
    avg_bits: float | None = None
    train: tuple[str, ...] = ()
    name: str = "model"
    outputs: tuple[str, ...] | None = None
    calib_method: str = "minmax"
    weight_quantizer: str = "rtn"
    smoothquant: float | None = None  # SmoothQuant's alpha: migrate activation outliers into the weights
    measure: bool = True
    quiet: bool = False
    command_line: str = ""


@dataclass(frozen=True)
class CompileResult:
    out: Path
    precision: str
    arena_bytes: int
    arena_lower_bound: int
    flash_bytes: int
    macs: int
    layer_costs: tuple[int, ...] = ()
    notes: tuple[str, ...] = field(default=())


def _model_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _producer(path: Path) -> str:
    try:
        m = onnx.load(str(path), load_external_data=False)
        return f"{m.producer_name or 'unknown'} {m.producer_version}".strip()
    except Exception:  # the loader reports unreadable models properly; this is only a comment
        return "unknown"


def _check_name(name: str) -> None:
    if not name.isidentifier() or not name.isascii() or name.startswith("mcuf"):
        raise McufError(f"--name '{name}' must be a C identifier (letters, digits, _) not starting with 'mcuf'")


def compile_model(cfg: CompileConfig) -> CompileResult:
    """Run the whole pipeline for `cfg`; returns what was written and its sizes."""
    from mcuforge.allocate.plan import plan_precisions, read_allocation
    from mcuforge.codegen.emit import emit_project
    from mcuforge.codegen.lower import lower
    from mcuforge.frontend.pipeline import load_model
    from mcuforge.frontend.samples import load_samples
    from mcuforge.frontend.to_onnx import to_onnx

    _check_name(cfg.name)
    target = get_target(cfg.target)
    if cfg.precision not in PRECISIONS:
        raise McufError(f"--precision '{cfg.precision}' is not one of {', '.join(PRECISIONS)}")
    if not Path(cfg.model).is_file():
        raise McufError(f"model file '{cfg.model}' does not exist")
    if cfg.allocation is not None and not Path(cfg.allocation).is_file():
        raise McufError(f"allocation file '{cfg.allocation}' does not exist")
    if cfg.train:
        raise McufError("--train (on-device fine-tuning) is not available yet; compile without it")
    notes: list[str] = []
    default = cfg.precision
    if cfg.bits is not None:
        bad = [b for b in cfg.bits if b not in BITS_PRECISION]
        if bad or not cfg.bits:
            raise McufError(f"--bits {','.join(map(str, cfg.bits))}: weight widths are 8, 4 or 2")
        if default != "mixed":
            raise McufError(f"--bits lists candidates for --precision mixed; with --precision {default} every layer "
                            "is already fixed (drop --bits, or use --precision int4 / int2)")
        if len(cfg.bits) == 1:  # a single candidate: uniform W<b>A8, as DESIGN.md's --bits says
            default = BITS_PRECISION[cfg.bits[0]]
    if default == "mixed":
        # Mixed precision needs the measured cost tables and the ILP (a later stage); with no
        # budgets the optimum is uniform int8, which is what this build produces.
        what = "layers the allocation file does not name are" if cfg.allocation else "compiled as"
        notes.append(f"mixed precision: per-layer bit allocation is not available yet; {what} int8")
        default = "int8"

    graph: Graph = load_model(cfg.model, list(cfg.outputs) if cfg.outputs else None)
    fixed = read_allocation(cfg.allocation, graph) if cfg.allocation is not None else {}
    plan = plan_precisions(graph, UNIFORM[default], fixed)
    qopts = QuantizeOptions(calib_method=cfg.calib_method, weight_quantizer=cfg.weight_quantizer,
                            smoothquant=cfg.smoothquant, quiet=cfg.quiet)
    check_options(qopts, plan)
    samples, labels = ([], None)
    if cfg.calib is not None:
        samples, labels = load_samples(cfg.calib, graph)
    elif plan.int8_layers:
        which = "--precision int8" if not fixed else f"{len(plan.int8_layers)} int8 layer(s)"
        raise McufError(f"{which} need(s) calibration data: pass --calib CALIB.npz "
                        "(one array per model input, [N, *input_shape])")

    out = Path(cfg.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        qmodel = None
        layer_errors: dict[str, float] = {}
        if plan.int8_layers:
            from mcuforge.export.qdq import export_qdq

            quantized = quantize_for_plan(graph, plan, samples, qopts)
            graph, qmodel, layer_errors = quantized.graph, quantized.model, quantized.weight_errors
            notes.extend(quantized.notes)
            export_qdq(qmodel, tmp / "quantized.onnx")
        else:
            # Float precisions: the reference onnxruntime runs is the normalised float model.
            onnx.save(to_onnx(graph), str(tmp / "quantized.onnx"))

        prog = lower(graph, plan, target, qmodel, cfg.name)
        emit_project(prog, tmp / "c", cfg.command_line, _model_sha256(cfg.model), _producer(cfg.model))
        precision = prog.precision

        meta = {
            "mcuforge": __version__, "name": cfg.name, "target": target.name, "precision": precision,
            "inputs": [{"name": b.tensor, "cname": b.cname, "shape": list(b.shape)} for b in prog.inputs],
            "outputs": [{"name": b.tensor, "cname": b.cname, "shape": list(b.shape)} for b in prog.outputs],
            "n_layers": len(prog.layer_nodes), "arena_bytes": prog.arena_bytes, "flash_bytes": prog.flash_bytes,
            "arena_lower_bound": prog.arena_lower_bound, "macs": prog.macs,
        }
        (tmp / META_FILE).write_text(json.dumps(meta, indent=1) + "\n")

        layer_costs: tuple[int, ...] = ()
        if cfg.measure and target.emulated:
            from mcuforge.run.runner import run_library

            sample = samples[0] if samples else {t.name: np.zeros(t.shape, np.float32) for t in graph.inputs}
            arrays = [sample[t.name][None].astype(np.float32) for t in graph.inputs]
            _, stats = run_library(tmp / "c", meta, target, arrays, profile=True)
            layer_costs = stats.layer_costs

        from mcuforge.report import write_allocation, write_report

        write_allocation(tmp / "allocation.json", prog, target, precision, cfg, layer_costs, layer_errors)
        write_report(tmp, prog, target, precision, cfg, layer_costs, notes, layer_errors)

        if out.exists():
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return CompileResult(out, precision, prog.arena_bytes, prog.arena_lower_bound, prog.flash_bytes, prog.macs,
                         layer_costs, tuple(notes))
