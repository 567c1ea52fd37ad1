"""Whole-model benchmark: the MLPerf-Tiny-shaped ResNet-8 and DS-CNN and the small MNIST-style CNN
(tests/models/, see its README) compiled at fp32 / fp16 / int8 for rv32 and rv32-zfh.

    .venv/bin/python benchmarks/bench_models.py [--quick] [--json OUT.json] [--no-host]

For every model x precision x target: instructions per inference under QEMU (-icount shift=0, exact),
read from `mcuforge run --stats`; MACs; MAC per instruction; flash bytes (constants, and code +
constants as linked for the target: mcuforge.demo.measure_flash); arena bytes against the
arena lower bound (allocation.json's totals.ram_lower_bound: the largest, over all nodes, of the bytes
that must be live there). For information, host latency of the same C compiled for x86 (loaded with
cffi, median of repeated model_run calls) next to onnxruntime with one thread. Not a test: it asserts
nothing about speed. `--quick` runs the MNIST-style CNN only.

Peer (issue 4): onnx2c's C for the MNIST-style CNN retires 1.59M instructions per inference on rv32
(clang-19 -O2); the fp32 aim is at least 3x fewer.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from mcuforge import cli  # noqa: F401
from mcuforge.compile import CompileConfig, compile_model  # noqa: E402
from mcuforge.demo import measure_flash  # noqa: E402
from mcuforge.core.errors import McufError  # noqa: E402
from mcuforge.run.runner import c_sources, read_meta  # noqa: E402

MODELS_DIR = REPO / "tests" / "models"
MODELS = ("mnist_cnn", "dscnn", "resnet8")
PRECISIONS = ("fp32", "fp16", "int8")
TARGETS = ("rv32", "rv32-zfh")
ONNX2C_MNIST_RV32 = 1_590_000  # instructions per inference, onnx2c + clang-19 -O2, measured for issue 4
CALIB_SAMPLES = 32


def _calib(tmp: Path, name: str) -> Path:
    x = np.load(MODELS_DIR / f"{name}.input.npz")["x"]
    path = tmp / f"{name}_calib.npz"
    np.savez(path, x=np.random.default_rng(0).standard_normal((CALIB_SAMPLES, *x.shape[1:])).astype(np.float32))
    return path


def _quiet_cli(argv: list[str]) -> None:
    """Run one `mcuforge` command in-process (the same code path as the shell), its output swallowed."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
        rc = cli.main(argv)
    if rc != 0:
        raise McufError(f"mcuforge {argv[0]} exited {rc}: {buf.getvalue().strip()}")


def measure_target(name: str, precision: str, target: str, tmp: Path) -> dict:
    """Compile for a QEMU target, run one sample with `mcuforge run --stats`, collect the sizes."""
    out = tmp / f"{name}_{precision}_{target}"
    calib = _calib(tmp, name)
    res = compile_model(CompileConfig(model=MODELS_DIR / f"{name}.onnx", out=out, target=target, calib=calib,
                                      precision=precision, measure=False, quiet=True))
    stats_path, y_path = tmp / "stats.json", tmp / "y.npz"
    inp = tmp / f"{name}_in.npz"
    np.savez(inp, x=np.load(MODELS_DIR / f"{name}.input.npz")["x"][:1])
    _quiet_cli(["run", str(out), "--input", str(inp), "--output", str(y_path), "--stats", str(stats_path), "--quiet"])
    stats = json.loads(stats_path.read_text())
    totals = json.loads((out / "allocation.json").read_text())["totals"]
    instr = stats["cost_per_inference"]
    return {
        "model": name, "precision": precision, "target": target, "macs": res.macs,
        "instructions": instr, "mac_per_instr": res.macs / instr if instr else None,
        "flash_bytes": stats["flash_bytes"], "flash_linked_bytes": measure_flash(out), "arena_bytes": stats["arena_bytes"],
        "arena_lower_bound": totals.get("ram_lower_bound", res.arena_lower_bound),
    }


def _median_seconds(fn, reps: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def measure_host(name: str, precision: str, tmp: Path, reps: int) -> dict:
    """Host latency of the compiled C (cffi, model_run only) and of onnxruntime single-thread on the
    reference the C code follows (the FP32 model; quantized.onnx for int8)."""
    import onnxruntime as ort

    from mcuforge.run.hostlib import load_library

    out = tmp / f"{name}_{precision}_host"
    calib = _calib(tmp, name)
    compile_model(CompileConfig(model=MODELS_DIR / f"{name}.onnx", out=out, target="host", calib=calib,
                                precision=precision, measure=False, quiet=True))
    meta = read_meta(out)
    srcs, incs = c_sources(out / "c", meta["name"])
    ffi, lib = load_library(srcs, incs, headers=[out / "c" / "include" / f"{meta['name']}.h"])
    x = np.ascontiguousarray(np.load(MODELS_DIR / f"{name}.input.npz")["x"][0], dtype=np.float32)
    y = np.zeros(int(np.prod(meta["outputs"][0]["shape"])), np.float32)
    arena = np.zeros(meta["arena_bytes"] + 16, np.uint8)
    base = ffi.cast("uintptr_t", ffi.from_buffer(arena))
    aligned = ffi.cast("void *", (int(base) + 15) // 16 * 16)
    ctx = ffi.new(f"{meta['name']}_ctx_t *")
    if getattr(lib, f"{meta['name']}_init")(ctx, aligned, meta["arena_bytes"]) != 0:
        raise McufError(f"{name} {precision}: model_init failed on the host")
    run = getattr(lib, f"{meta['name']}_run")
    px, py = ffi.cast("const float *", ffi.from_buffer(x)), ffi.cast("float *", ffi.from_buffer(y))
    c_s = _median_seconds(lambda: run(ctx, px, py), reps)

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    ref = MODELS_DIR / f"{name}.onnx" if precision != "int8" else out / "quantized.onnx"
    sess = ort.InferenceSession(str(ref), opts, providers=["CPUExecutionProvider"])
    feed = {"x": x}
    ort_s = _median_seconds(lambda: sess.run(None, feed), reps)
    return {"model": name, "precision": precision, "target": "host", "c_us": c_s * 1e6, "ort_us": ort_s * 1e6,
            "ort_model": ref.name}


def _short(e: Exception) -> str:
    """First and last line of an error (a compiler's or QEMU's message is long; its cause is at the end)."""
    lines = [ln.strip() for ln in str(e).strip().splitlines() if ln.strip()] or [type(e).__name__]
    text = lines[0] if len(lines) == 1 else f"{lines[0][:100]} ... {lines[-1]}"
    return text[:240]


def _fmt(v, spec: str) -> str:
    return "-" if v is None else format(v, spec)


def format_tables(records: list[dict], host: list[dict]) -> str:
    lines = [f"{'model':<10} {'prec':<5} {'target':<9} {'MACs':>11} {'instr/inference':>16} {'MAC/instr':>9} "
             f"{'const B':>9} {'linked B':>9} {'arena B':>9} {'lower bd':>9} {'arena/lb':>8}"]
    for r in records:
        if "error" in r:
            lines.append(f"{r['model']:<10} {r['precision']:<5} {r['target']:<9} failed: {r['error']}")
            continue
        ratio = r["arena_bytes"] / r["arena_lower_bound"] if r["arena_lower_bound"] else None
        lines.append(f"{r['model']:<10} {r['precision']:<5} {r['target']:<9} {r['macs']:>11,} "
                     f"{_fmt(r['instructions'], ',.0f'):>16} {_fmt(r['mac_per_instr'], '.3f'):>9} "
                     f"{r['flash_bytes']:>9,} {_fmt(r['flash_linked_bytes'], ','):>9} {r['arena_bytes']:>9,} {r['arena_lower_bound']:>9,} {_fmt(ratio, '.3f'):>8}")
    peer = [r for r in records if r["model"] == "mnist_cnn" and r["precision"] == "fp32" and r["target"] == "rv32"
            and r.get("instructions")]
    if peer:
        p = peer[0]
        lines.append(f"\nMNIST-style CNN fp32 on rv32: {p['instructions']:,.0f} instructions per inference vs "
                     f"onnx2c {ONNX2C_MNIST_RV32:,} ({ONNX2C_MNIST_RV32 / p['instructions']:.2f}x fewer; aim >= 3x)")
    if host:
        lines.append(f"\nhost latency (for information; x86, one thread, median)\n"
                     f"{'model':<10} {'prec':<5} {'C us':>9} {'onnxruntime us':>15}  onnxruntime model")
        for h in host:
            if "error" in h:
                lines.append(f"{h['model']:<10} {h['precision']:<5} failed: {h['error']}")
                continue
            lines.append(f"{h['model']:<10} {h['precision']:<5} {h['c_us']:>9.1f} {h['ort_us']:>15.1f}  {h['ort_model']}")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description="Whole-model benchmark (instructions per inference under QEMU).")
    ap.add_argument("--quick", action="store_true", help="the MNIST-style CNN only")
    ap.add_argument("--json", type=Path, default=REPO / "benchmarks" / "bench_models.json",
                    help="where to write the records (default benchmarks/bench_models.json)")
    ap.add_argument("--no-host", action="store_true", help="skip the host latency comparison")
    ap.add_argument("--reps", type=int, default=50, help="host timing repetitions")
    args = ap.parse_args()
    models = ("mnist_cnn",) if args.quick else MODELS
    records, host = [], []
    with tempfile.TemporaryDirectory(prefix="mcuf-bench-models-") as td:
        tmp = Path(td)
        for name in models:
            for precision in PRECISIONS:
                for target in TARGETS:
                    t = time.monotonic()
                    try:
                        r = measure_target(name, precision, target, tmp)
                    except McufError as e:  # report and go on: one missing kernel must not hide the rest
                        r = {"model": name, "precision": precision, "target": target,
                             "error": _short(e)}
                    records.append(r)
                    print(f"  {name} {precision} {target}: "
                          f"{_fmt(r.get('instructions'), ',.0f') if 'error' not in r else r['error']} "
                          f"({time.monotonic() - t:.1f} s)", file=sys.stderr, flush=True)
            if not args.no_host:
                for precision in ("fp32", "int8"):
                    try:
                        host.append(measure_host(name, precision, tmp, args.reps))
                    except McufError as e:
                        host.append({"model": name, "precision": precision, "error": _short(e)})
    print(format_tables(records, host))
    args.json.write_text(json.dumps({"targets": records, "host": host, "onnx2c_mnist_rv32": ONNX2C_MNIST_RV32},
                                    indent=1) + "\n")
    print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
