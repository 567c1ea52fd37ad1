"""The `mcuforge` command line. Flags and environment are read here only and passed on explicitly."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Callable, Sequence

from . import __version__
from .errors import McufError
from .targets import TARGETS


def _cmd_demo(args: argparse.Namespace) -> int:
    from .demo_harness import harness_roundtrip

    print("mcuforge demo: the full ONNX -> C pipeline is not complete yet; this demo runs the\n"
          "build-and-run harness end to end: an FP16 driver built for every target, run natively or\n"
          "under QEMU (-icount shift=0), checked against numpy.\n")
    records = harness_roundtrip(quiet=args.quiet)
    print(f"{'target':<10} {'elements':>8} {'instructions':>13}  result")
    for r in records:
        instr = "n/a (host)" if r["instret"] is None else f"{r['instret']:,}"
        print(f"{r['target']:<10} {r['elements']:>8} {instr:>13}  matches numpy")
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    if args.what != "kernels":
        raise McufError(f"unknown benchmark '{args.what}': use 'mcuforge bench kernels'")
    from .bench import format_table, run_bench_kernels

    records = run_bench_kernels(args.target, quiet=args.quiet)
    print(format_table(records))
    if args.json:
        Path(args.json).write_text(json.dumps(records, indent=1) + "\n")
        print(f"\nwrote {len(records)} records to {args.json}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and documentation)."""
    p = argparse.ArgumentParser(prog="mcuforge", description="ONNX in, quantized trainable C library for RISC-V MCUs out.")
    p.add_argument("--version", action="version", version=f"mcuforge {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("demo", help="the whole pipeline on the bundled example")
    d.add_argument("--quiet", action="store_true", help="no progress bars")
    d.set_defaults(func=_cmd_demo)

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
