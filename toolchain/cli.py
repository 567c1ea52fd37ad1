"""The `mcuforge` command line. Flags and environment are read here only and passed on explicitly."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Callable, Sequence

from mcuforge.core.version import __version__
from mcuforge.core.errors import McufError
from mcuforge.core.precision import supported_text
from mcuforge.core.targets import TARGETS


def _cmd_demo(args: argparse.Namespace) -> int:
    from mcuforge.demo import run_demo

    run_demo(Path(args.out), quiet=args.quiet)
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    if args.what != "kernels":
        raise McufError(f"unknown benchmark '{args.what}': use 'mcuforge bench kernels'")
    from mcuforge.bench.suite import format_table, run_bench_kernels

    records = run_bench_kernels(args.target, quiet=args.quiet)
    print(format_table(records))
    if args.json:
        Path(args.json).write_text(json.dumps(records, indent=1) + "\n")
        print(f"\nwrote {len(records)} records to {args.json}")
    return 0


def _int_list(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in text.split(",") if x)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got '{text}'") from None


def _cmd_compile(args: argparse.Namespace) -> int:
    from mcuforge.compile import CompileConfig, compile_model

    train: tuple[str, ...] = tuple(x for x in (args.train or "").split(",") if x)
    cfg = CompileConfig(
        model=Path(args.model), out=Path(args.out), target=args.target,
        calib=Path(args.calib) if args.calib else None, precision=args.precision,
        allocation=Path(args.allocation) if args.allocation else None, bits=args.bits,
        latency_budget=args.latency_budget, flash_budget=args.flash_budget, ram_budget=args.ram_budget,
        avg_bits=args.avg_bits, train=train, name=args.name,
        outputs=tuple(x for x in args.outputs.split(",") if x) if args.outputs else None,
        calib_method=args.calib_method, weight_quantizer=args.weight_quantizer, smoothquant=args.smoothquant, measure=not args.no_measure, quiet=args.quiet,
        command_line="mcuforge " + " ".join(sys.argv[1:]) if args.argv is None else "mcuforge " + " ".join(args.argv),
    )
    res = compile_model(cfg)
    for n in res.notes:
        print(f"note: {n}")
    print(f"wrote {res.out}: {res.precision}, arena {res.arena_bytes} bytes (lower bound {res.arena_lower_bound}), "
          f"constants {res.flash_bytes} bytes, {res.macs:,} MACs per inference")
    if res.layer_costs:
        total = sum(res.layer_costs)
        print(f"measured on {args.target}: {total:,} instructions per inference ({res.macs / max(total, 1):.3f} MAC/instr)")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    import numpy as np

    from mcuforge.core.ir import Graph, TensorInfo
    from mcuforge.frontend.samples import load_samples
    from mcuforge.run.runner import read_meta, run_folder

    meta = read_meta(Path(args.dir))
    ins = tuple(TensorInfo(i["name"], tuple(i["shape"])) for i in meta["inputs"])
    shell = Graph(meta["name"], (), ins, (), {t.name: t for t in ins}, {})
    samples, _ = load_samples(args.input, shell)
    outputs, stats = run_folder(Path(args.dir), samples, quiet=args.quiet)
    np.savez(args.output, **outputs)
    cost = "n/a on host" if stats.cost_per_inference is None else f"{stats.cost_per_inference:,.0f} instructions"
    print(f"ran {stats.samples} sample(s) on {stats.target}: {cost} per inference; wrote {args.output}")
    if args.stats:
        Path(args.stats).write_text(json.dumps(stats.as_json(), indent=1) + "\n")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and documentation)."""
    p = argparse.ArgumentParser(prog="mcuforge", description="ONNX in, quantized trainable C library for RISC-V MCUs out.")
    p.add_argument("--version", action="version", version=f"mcuforge {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("demo", help="the whole pipeline on the bundled example (digits CNN, int8, rv32-zfh under QEMU)")
    d.add_argument("--out", default="out/demo", help="folder for the compiled library and its data (default: out/demo)")
    d.add_argument("--quiet", action="store_true", help="print nothing; no progress bars")
    d.set_defaults(func=_cmd_demo)

    c = sub.add_parser("compile", help="ONNX model -> quantized ONNX + C library for a target")
    c.add_argument("model", help="FP32 ONNX model")
    c.add_argument("--calib", help="calibration samples (.npz, one array per model input)")
    c.add_argument("--target", required=True, choices=list(TARGETS))
    c.add_argument("--out", required=True, help="output folder (replaced only if the compile succeeds)")
    c.add_argument("--precision", default="mixed", choices=["fp32", "fp16", "int8", "int4", "int2", "mixed"],
                   help="every layer's precision, unless --allocation names it: int8 = W8A8, int4 = W4A8, "
                        "int2 = W2A8 (int8 activations); mixed: chosen per layer (today int8)")
    c.add_argument("--allocation", metavar="FILE",
                   help='fix the precision of the layers it names: JSON like allocation.json, {"layers": [{"name": '
                        '"<ONNX node>", "weights": "int8", "activations": "int8"}, ...]}; supported '
                        f"weights/activations: {supported_text()}; other layers follow --precision")
    c.add_argument("--bits", type=_int_list, help="candidate weight bits for mixed (default 2,4,8); one value: "
                                                "every layer W<bits>A8, like --precision int<bits>")
    c.add_argument("--latency-budget", type=float)
    c.add_argument("--flash-budget", type=int)
    c.add_argument("--ram-budget", type=int)
    c.add_argument("--avg-bits", type=float)
    c.add_argument("--train", help="LAYER[,LAYER...] or last:K (on-device fine-tuning)")
    c.add_argument("--name", default="model", help="C prefix of the generated API")
    c.add_argument("--outputs", help="cut the graph at these tensors (comma-separated)")
    c.add_argument("--calib-method", default="minmax", choices=["minmax", "percentile", "entropy"])
    c.add_argument("--weight-quantizer", default="rtn", choices=["rtn", "mse", "gptq", "quantease"],
                   help="how integer weights are rounded: to nearest (default); with the clipping scale of least "
                        "squared error; GPTQ or QuantEase (least layer output error on the calibration data, "
                        "slower; best at 2 and 4 bits)")
    c.add_argument("--smoothquant", type=float, metavar="ALPHA",
                   help="SmoothQuant: move each input channel's activation range into the int8 layer's weights "
                        "(and out of the layer producing it), alpha in (0, 1], e.g. 0.5")
    c.add_argument("--no-measure", action="store_true", help="skip measuring per-layer cost on the target")
    c.add_argument("--quiet", action="store_true", help="no progress bars")
    c.set_defaults(func=_cmd_compile)

    r = sub.add_parser("run", help="build a compiled folder for its target and run it on samples")
    r.add_argument("dir", help="folder written by 'mcuforge compile'")
    r.add_argument("--input", required=True, help="samples (.npz)")
    r.add_argument("--output", required=True, help="where to write the outputs (.npz)")
    r.add_argument("--stats", help="write run statistics (JSON)")
    r.add_argument("--quiet", action="store_true", help="no progress bars")
    r.set_defaults(func=_cmd_run)

    b = sub.add_parser("bench", help="benchmarks (print figures; not tests)")
    b.add_argument("what", choices=["kernels"], help="what to benchmark")
    b.add_argument("--target", required=True, choices=[t for t in TARGETS if TARGETS[t].emulated])
    b.add_argument("--json", help="write the records to this JSON file")
    b.add_argument("--quiet", action="store_true", help="no progress bars")
    b.set_defaults(func=_cmd_bench)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: runs one subcommand; user errors print one message and exit 2, never a traceback."""
    args = build_parser().parse_args(argv)
    args.argv = list(argv) if argv is not None else None
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except McufError as e:
        print(f"mcuforge: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mcuforge: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
