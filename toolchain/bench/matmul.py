"""Micro-benchmarks of the matmul family and the matmul-based layers under QEMU (retired instructions).

`run_kernel_bench(target)` builds one driver per bench entry for the target (benchmarks/kernels/*.c),
runs a table of cases in one QEMU process each, and returns one record per kernel x backend x shape:
{"kernel", "dtype", "acc", "backend", "shape", "macs", "instret", "mac_per_instr", "max_rel_err"}.
"acc" is the accumulation policy ("f16" or "f32"; FP32 kernels always "f32"). Matmul shapes read MxNxK.
Backends: "naive" (textbook triple loop), "c" (portable C), "zfh" (scalar Zfh, register blocked), "rvf"
(FP32, scalar F, register blocked), "rvv" (RVV 1.0 + Zvfh). Conv records use the target's best matmul (MCUF_MATMUL_*), named in "backend".

More kernel families register a `BenchEntry` in `BENCH_ENTRIES` (a driver source list and a function
turning a target and a built driver into records); the same case runners serve the QEMU tests. The FP32
inference kernels (direct 3x3 conv, 2x2 max pool, batch-1 linear) have their own module,
mcuforge.bench.inference, on the same record format and helpers.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
from tqdm import tqdm

from mcuforge.core.errors import McufError
from mcuforge.run.harness import Build, build, run
from mcuforge.core.paths import BENCH_C, RUNTIME_SRC
from mcuforge.core.targets import Target, get_target

BENCH_DIR = BENCH_C
MATMUL_SOURCES = tuple(RUNTIME_SRC / s for s in (
    "mcuf_matmul_f16.c", "mcuf_matmul_f32.c", "mcuf_matmul_f16_zfh.c", "mcuf_matmul_f16_rvv.c",
    "mcuf_matmul_f32_rvf.c", "mcuf_matmul_f32_rvv.c"))
CONV_SOURCES = MATMUL_SOURCES + (RUNTIME_SRC / "mcuf_conv.c",)
MAX_ELEMS = 20000  # operand buffer length of the drivers
GUARD = 8
SENTINEL16, SENTINEL32 = 0x7E55, 0x7FA5A5A5
FORMS = ("nn", "nt", "tn")
KERNEL_NAME = {"nn": "matmul", "nt": "matmul_nt", "tn": "matmul_tn"}
BACKEND_ID = {"c": 0, "naive": 1, "zfh": 2, "rvv": 3, "rvf": 4}
BENCH_MATMUL_SHAPES = ((64, 64, 64), (16, 64, 288), (128, 10, 64))
RESNET8_LAYER = (16, 32, 32, 16, 3, 3, 1, 1, 1, 1, 1, 1)  # cin, h, w, cout, kh, kw, sh, sw, pads t l b r


# ----------------------------------------------------------------------------------------------- matmul

@dataclass(frozen=True)
class MatmulCase:
    """One matmul call: form nn/nt/tn, backend, dtype "f16"/"f32", acc 0 (FP16) / 1 (FP32)."""

    form: str
    backend: str
    dtype: str
    acc: int
    M: int
    N: int
    K: int
    accumulate: int = 0
    bias: int = 0  # 0 none, 1 per row, 2 per column


@dataclass(frozen=True)
class MatmulResult:
    """What a case did: None fields when the backend is not compiled for the target."""

    case: MatmulCase
    instret: int | None
    got: np.ndarray | None       # [M, N] float64
    ref: np.ndarray              # [M, N] float64
    scale: np.ndarray            # sum_k |a b| + |bias| + |C_old|, the error bound's magnitude
    guards_ok: bool = True

    @property
    def max_rel_err(self) -> float | None:
        if self.got is None:
            return None
        return float(np.max(np.abs(self.got - self.ref) / np.maximum(self.scale, 1e-30)))


def matmul_operands(seed: int = 1) -> dict[str, np.ndarray]:
    """Random driver inputs (uniform in [-1, 1)), the same for every case: each case uses a prefix."""
    rng = np.random.default_rng(seed)
    out = {}
    for name in ("a", "b", "c", "bias"):
        v = rng.uniform(-1, 1, MAX_ELEMS)
        out[name + "16"] = v.astype(np.float16)
        out[name + "32"] = v.astype(np.float32)
    return out


def _matmul_reference(c: MatmulCase, ops: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    sfx = "16" if c.dtype == "f16" else "32"
    M, N, K = c.M, c.N, c.K
    A = ops["a" + sfx][:M * K].astype(np.float64)
    B = ops["b" + sfx][:K * N].astype(np.float64)
    a = A.reshape(K, M).T if c.form == "tn" else A.reshape(M, K)
    b = B.reshape(N, K).T if c.form == "nt" else B.reshape(K, N)
    ref = a @ b
    scale = np.abs(a) @ np.abs(b)
    if c.bias:
        bias = ops["bias" + sfx][:M if c.bias == 1 else N].astype(np.float64)
        bb = bias[:, None] if c.bias == 1 else bias[None, :]
        ref = ref + bb
        scale = scale + np.abs(bb)
    if c.accumulate:
        c0 = ops["c" + sfx][:M * N].astype(np.float64).reshape(M, N)
        ref = ref + c0
        scale = scale + np.abs(c0)
    return ref, scale


def run_matmul_cases(target: Target, cases: list[MatmulCase], exe: Build | None = None,
                     seed: int = 1, timeout: float = 300.0) -> list[MatmulResult]:
    """Run `cases` in one execution of the matmul driver on `target`; results in case order."""
    if len(cases) > 512:
        raise McufError("the matmul driver takes at most 512 cases per run; split the table")
    for c in cases:
        if c.M * c.N > MAX_ELEMS or c.M * c.K > MAX_ELEMS or c.K * c.N > MAX_ELEMS:
            raise McufError(f"matmul case {c} exceeds the driver's {MAX_ELEMS}-element operand buffers")
    exe = exe or build(target, [BENCH_DIR / "bench_matmul.c", *MATMUL_SOURCES], include_dirs=[RUNTIME_SRC])
    table = np.array([[FORMS.index(c.form), BACKEND_ID[c.backend], int(c.dtype == "f32"), c.acc, c.M, c.N, c.K,
                       c.accumulate, c.bias, 0] for c in cases], dtype=np.int32).reshape(-1, 10)
    ops = matmul_operands(seed)
    res = run(target, exe, {"cases": table, **ops}, timeout=timeout)
    results = []
    for i, c in enumerate(cases):
        ref, scale = _matmul_reference(c, ops)
        raw = res.outputs.get(f"c_{i}")
        if raw is None:
            results.append(MatmulResult(c, None, None, ref, scale))
            continue
        sent = SENTINEL16 if c.dtype == "f16" else SENTINEL32
        guards_ok = bool(np.all(raw[:GUARD] == sent) and np.all(raw[-GUARD:] == sent))
        vals = raw[GUARD:-GUARD].view(np.float16 if c.dtype == "f16" else np.float32)
        results.append(MatmulResult(c, res.counts.get(f"case{i}"), vals.astype(np.float64).reshape(c.M, c.N),
                                    ref, scale, guards_ok))
    return results


def backends_for(target: Target, dtype: str) -> list[str]:
    """Matmul backends compiled for `target` (naive excluded), the best (MCUF_MATMUL_*) last."""
    out = ["c"]
    if dtype == "f16":
        if target.fp16 in ("native", "vector"):
            out.append("zfh")
        if target.fp16 == "vector":
            out.append("rvv")
    elif target.emulated:  # every RISC-V target has F
        out.append("rvf")
        if target.vector_bits:
            out.append("rvv")
    return out


def best_backend(target: Target, dtype: str) -> str:
    """The backend MCUF_MATMUL_* resolves to on `target`."""
    return backends_for(target, dtype)[-1]


def matmul_cases(target: Target, M: int, N: int, K: int) -> list[MatmulCase]:
    """One M x N x K case per form x backend compiled for `target` x accumulation policy (FP16 both,
    FP32 its own): what the tests check and the benchmark measures on each shape."""
    cases = []
    for form in FORMS:
        for be in backends_for(target, "f16"):
            for acc in (0, 1):
                cases.append(MatmulCase(form, be, "f16", acc, M, N, K))
        for be in backends_for(target, "f32"):
            cases.append(MatmulCase(form, be, "f32", 1, M, N, K))
    return cases


def _matmul_bench_cases(target: Target) -> list[MatmulCase]:
    cases = []
    for M, N, K in BENCH_MATMUL_SHAPES:
        cases.append(MatmulCase("nn", "naive", "f16", 0, M, N, K))
        cases += matmul_cases(target, M, N, K)
    return cases


def _record(kernel: str, dtype: str, acc: str, backend: str, shape: str, macs: int, instret: int | None,
            err: float | None) -> dict:
    return {"kernel": kernel, "dtype": dtype, "acc": acc, "backend": backend, "shape": shape, "macs": macs,
            "instret": instret, "mac_per_instr": (macs / instret) if instret else None, "max_rel_err": err}


def matmul_bench_records(target: Target, exe: Build) -> list[dict]:
    """Records of the matmul bench table on `target` (one driver run)."""
    records = []
    for r in run_matmul_cases(target, _matmul_bench_cases(target), exe=exe):
        c = r.case
        if r.instret is None:
            continue
        if not r.guards_ok:
            raise McufError(f"matmul {c} wrote outside its output on {target.name}")
        records.append(_record(KERNEL_NAME[c.form], c.dtype, "f32" if c.acc or c.dtype == "f32" else "f16",
                               c.backend, f"{c.M}x{c.N}x{c.K}", c.M * c.N * c.K, r.instret, r.max_rel_err))
    return records


# ------------------------------------------------------------------------------------------------- conv

@dataclass(frozen=True)
class ConvCase:
    """One conv2d layer run forward + both gradients: dtype "f16"/"f32", acc 0/1, geometry."""

    dtype: str
    acc: int
    cin: int
    h: int
    w: int
    cout: int
    kh: int
    kw: int
    sh: int = 1
    sw: int = 1
    pads: tuple[int, int, int, int] = (0, 0, 0, 0)  # top, left, bottom, right
    accumulate_grad: int = 0
    with_bias: int = 1

    @property
    def ho(self) -> int:
        return (self.h + self.pads[0] + self.pads[2] - self.kh) // self.sh + 1

    @property
    def wo(self) -> int:
        return (self.w + self.pads[1] + self.pads[3] - self.kw) // self.sw + 1

    @property
    def macs(self) -> int:
        """MACs of one of the three matmuls (forward, input gradient, weight gradient)."""
        return self.cout * self.cin * self.kh * self.kw * self.ho * self.wo


@dataclass(frozen=True)
class ConvResult:
    """Counts per step, and per output (out, dx, dw, db): got, reference, error scale; guards checked."""

    case: ConvCase
    counts: dict[str, int]
    got: dict[str, np.ndarray]
    ref: dict[str, np.ndarray]
    scale: dict[str, np.ndarray]
    guards_ok: bool

    def rel_err(self, name: str) -> float:
        return float(np.max(np.abs(self.got[name] - self.ref[name]) / np.maximum(self.scale[name], 1e-30)))


def conv_reference(c: ConvCase, x, w, b, dy, dw0=None, db0=None):
    """float64 forward / input grad / weight grad / bias grad of a conv, and error scales per output."""
    idx_c, idx_ky, idx_kx, oy, ox = np.meshgrid(np.arange(c.cin), np.arange(c.kh), np.arange(c.kw),
                                                np.arange(c.ho), np.arange(c.wo), indexing="ij")
    iy, ix = oy * c.sh - c.pads[0] + idx_ky, ox * c.sw - c.pads[1] + idx_kx
    valid = ((iy >= 0) & (iy < c.h) & (ix >= 0) & (ix < c.w)).reshape(c.cin * c.kh * c.kw, -1)
    idx = ((idx_c * c.h + np.clip(iy, 0, c.h - 1)) * c.w + np.clip(ix, 0, c.w - 1)).reshape(valid.shape)
    col = np.where(valid, x.reshape(-1)[idx], 0.0)
    W = w.reshape(c.cout, -1)
    D = dy.reshape(c.cout, -1)
    ref = {"out": W @ col + (b[:, None] if c.with_bias else 0.0)}
    scale = {"out": np.abs(W) @ np.abs(col) + (np.abs(b)[:, None] if c.with_bias else 0.0)}
    dcol, adcol = W.T @ D, np.abs(W).T @ np.abs(D)
    dx, sdx = np.zeros(c.cin * c.h * c.w), np.zeros(c.cin * c.h * c.w)
    np.add.at(dx, idx[valid], dcol[valid])
    np.add.at(sdx, idx[valid], adcol[valid])
    ref["dx"], scale["dx"] = dx, sdx
    ref["dw"], scale["dw"] = D @ col.T, np.abs(D) @ np.abs(col).T
    ref["db"], scale["db"] = D.sum(1), np.abs(D).sum(1)
    if c.accumulate_grad:
        ref["dw"] = ref["dw"] + dw0.reshape(c.cout, -1)
        scale["dw"] = scale["dw"] + np.abs(dw0.reshape(c.cout, -1))
        ref["db"], scale["db"] = ref["db"] + db0, scale["db"] + np.abs(db0)
    return ref, scale


def run_conv_cases(target: Target, cases: list[ConvCase], exe: Build | None = None, seed: int = 2,
                   timeout: float = 600.0) -> list[ConvResult]:
    """Run `cases` in one execution of the conv driver on `target`; results in case order."""
    exe = exe or build(target, [BENCH_DIR / "bench_conv.c", *CONV_SOURCES], include_dirs=[RUNTIME_SRC])
    rng = np.random.default_rng(seed)
    ops = {}
    for name in ("x", "w", "b", "dy"):
        v = rng.uniform(-1, 1, MAX_ELEMS)
        ops[name + "16"], ops[name + "32"] = v.astype(np.float16), v.astype(np.float32)
    table = np.array([[int(c.dtype == "f32"), c.acc, c.cin, c.h, c.w, c.cout, c.kh, c.kw, c.sh, c.sw, c.pads[0],
                       c.pads[1], c.ho, c.wo, c.accumulate_grad, c.with_bias] for c in cases],
                     dtype=np.int32).reshape(-1, 16)
    res = run(target, exe, {"cases": table, **ops}, timeout=timeout)
    out = []
    for i, c in enumerate(cases):
        sfx, dt, sent = ("16", np.float16, SENTINEL16) if c.dtype == "f16" else ("32", np.float32, SENTINEL32)
        n_in, n_w = c.cin * c.h * c.w, c.cout * c.cin * c.kh * c.kw
        x, w, b = (ops[k + sfx].astype(np.float64) for k in ("x", "w", "b"))
        dy = ops["dy" + sfx][:c.cout * c.ho * c.wo].astype(np.float64)
        ref, scale = conv_reference(c, x[:n_in], w[:n_w], b[:c.cout], dy, w[:n_w], b[:c.cout])
        got, guards_ok = {}, True
        for name in ("out", "dx", "dw", "db"):
            raw = res.outputs[f"{name}_{i}"]
            guards_ok &= bool(np.all(raw[:GUARD] == sent) and np.all(raw[-GUARD:] == sent))
            got[name] = raw[GUARD:-GUARD].view(dt).astype(np.float64).reshape(ref[name].shape)
        counts = {k: res.counts[f"case{i}_{k}"] for k in ("fwd", "gin", "gw", "im2col", "col2im")}
        out.append(ConvResult(c, counts, got, ref, scale, guards_ok))
    return out


def conv_bench_records(target: Target, exe: Build) -> list[dict]:
    """Records of the ResNet-8 layer (16x32x32, 16 filters 3x3, stride 1, pad 1): forward, both gradients
    and the whole training step, per dtype / accumulation policy, with the target's best matmul."""
    cin, h, w, cout, kh, kw, sh, sw, *pads = RESNET8_LAYER
    cases = [ConvCase(dt, acc, cin, h, w, cout, kh, kw, sh, sw, tuple(pads))
             for dt, acc in (("f16", 0), ("f16", 1), ("f32", 1))]
    if target.fp16 == "soft":
        cases = cases[2:]  # FP16 arithmetic is emulated in software there: not a meaningful figure
    shape = f"{cin}x{h}x{w}-{cout}-{kh}x{kw}s{sh}p{pads[0]}"
    records = []
    for r in run_conv_cases(target, cases, exe=exe):
        c = r.case
        if not r.guards_ok:
            raise McufError(f"conv {c} wrote outside its outputs on {target.name}")
        acc = "f32" if c.acc or c.dtype == "f32" else "f16"
        be = best_backend(target, c.dtype)
        e = {k: r.rel_err(k) for k in ("out", "dx", "dw", "db")}
        steps = (("conv2d_fwd", r.counts["fwd"], e["out"]), ("conv2d_grad_input", r.counts["gin"], e["dx"]),
                 ("conv2d_grad_weight", r.counts["gw"], max(e["dw"], e["db"])))
        for name, n, err in steps:
            records.append(_record(name, c.dtype, acc, be, shape, c.macs, n, err))
        total = sum(n for _, n, _ in steps)
        records.append(_record("conv2d_train_step", c.dtype, acc, be, shape, 3 * c.macs, total, max(e.values())))
        records.append(_record("im2col", c.dtype, acc, "rvv" if target.vector_bits else "c", shape, 0,
                               r.counts["im2col"], None))
    return records


# -------------------------------------------------------------------------------------------- registry

@dataclass(frozen=True)
class BenchEntry:
    """A driver (sources built for the target) and the function turning the built driver into records."""

    name: str
    sources: tuple[Path, ...]
    records: Callable[[Target, Build], list[dict]]
    include_dirs: tuple[Path, ...] = field(default=(RUNTIME_SRC,))


BENCH_ENTRIES: list[BenchEntry] = [
    BenchEntry("matmul", (BENCH_DIR / "bench_matmul.c", *MATMUL_SOURCES), matmul_bench_records),
    BenchEntry("conv2d", (BENCH_DIR / "bench_conv.c", *CONV_SOURCES), conv_bench_records),
]


def run_kernel_bench(target_name: str, quiet: bool = False) -> list[dict]:
    """Build and run every registered bench entry for an emulated target; all records, entry order."""
    target = get_target(target_name)
    if not target.emulated:
        raise McufError(f"kernel benchmarks count retired instructions under QEMU; '{target_name}' has no "
                        "counter. Use --target rv32, rv32-zfh or rv32-zvfh")
    records: list[dict] = []
    for entry in tqdm(BENCH_ENTRIES, desc=f"bench {target_name}", unit="driver", disable=quiet):
        exe = build(target, list(entry.sources), include_dirs=list(entry.include_dirs))
        records.extend(entry.records(target, exe))
    return records


def format_table(records: list[dict]) -> str:
    """A fixed-width table of benchmark records, one line each (with the accumulation policy); the shape
    column widens to the longest shape string."""
    sw = max([18, *(len(r["shape"]) for r in records)])
    head = (f"{'kernel':<20} {'dtype':<5} {'acc':<4} {'backend':<7} {'shape':<{sw}} {'MACs':>9} {'instret':>10} "
            f"{'MAC/instr':>9} {'max rel err':>11}")
    lines = [head, "-" * len(head)]
    for r in records:
        mpi, err = r.get("mac_per_instr"), r.get("max_rel_err")
        lines.append(f"{r['kernel']:<20} {r['dtype']:<5} {r.get('acc', '-'):<4} {r['backend']:<7} {r['shape']:<{sw}} "
                     f"{r['macs']:>9} {r['instret']:>10} {(f'{mpi:.3f}' if mpi else '-'):>9} "
                     f"{(f'{err:.2e}' if err is not None else '-'):>11}")
    return "\n".join(lines)
