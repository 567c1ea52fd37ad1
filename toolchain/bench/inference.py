"""Micro-benchmarks of the FP32 inference kernels under QEMU (retired instructions), beside their general
counterparts on the same shapes.

Kernels: `mcuf_conv2d_f32_3x3` (direct 3x3 stride-1 conv, bias and ReLU fused) against `mcuf_conv2d_f32`
(im2col + the target's best matmul, bias only: its ReLU would be one more pass, not counted);
`mcuf_maxpool2d_f32_2x2` (ReLU fused, as codegen moves a conv's ReLU there) against the general
`mcuf_maxpool2d_f32` (2x2 window, stride 2, no activation: its own 2x2 stride-2 fast path, NaN-propagating);
`mcuf_linear_f32` at batch 1 (the row-blocked
matrix-vector path), alone. Shapes: the MNIST-CNN layers and the ResNet-8 16x32x32 -> 16 3x3 layer.

Both convs are given their full scratch (the whole padded input, the whole im2col matrix): the shape
strings say "full"; banded (smaller-scratch) runs are not measured here. One driver
(benchmarks/kernels/bench_infer.c) runs the whole table in one QEMU process. Records have the fields
of mcuforge.bench.matmul plus "work" ("macs", or "elements" for the pools, whose "macs" column then
counts input elements, as in mcuforge.bench.layers) and "scratch" (bytes given). max_rel_err is
max |got - ref| / scale against float64 numpy on the same FP32 inputs, scale = sum |w x| + |b| per
output for the convs and the linear (the matmul records' bound), max |ref| for the pools.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mcuforge.bench.matmul import BENCH_DIR, CONV_SOURCES, GUARD, SENTINEL32, ConvCase, _record, best_backend, conv_reference
from mcuforge.core.errors import McufError
from mcuforge.run.harness import Build, build, run
from mcuforge.core.paths import RUNTIME_SRC
from mcuforge.core.targets import Target, get_target

SOURCES = (BENCH_DIR / "bench_infer.c", *CONV_SOURCES, RUNTIME_SRC / "mcuf_pool.c", RUNTIME_SRC / "mcuf_linear.c")
MAX_ELEMS = 20000  # pool length of the driver (every case reads a prefix)
NCOLS = 8
KINDS = ("conv3x3", "conv", "pool2x2", "pool", "linear")  # must match the enum of bench_infer.c
ACT_NONE, ACT_RELU = 0, 1

MNIST_CONVS = ((1, 28, 28, 8, 1), (8, 14, 14, 16, 1))  # cin, h, w, cout, pad
RESNET8_CONV = (16, 32, 32, 16, 1)
MNIST_POOLS = ((8, 28, 28), (16, 14, 14))  # C, H, W
MNIST_LINEAR = (784, 10)  # in, out


@dataclass(frozen=True)
class InferCase:
    """One kernel call: kind (KINDS), its dimensions (see bench_infer.c) and activation (fused kinds)."""

    kind: str
    dims: tuple[int, ...]
    act: int = ACT_NONE

    def row(self) -> list[int]:
        """The driver's table row."""
        r = [KINDS.index(self.kind), *self.dims]
        if self.kind in ("conv3x3", "pool2x2"):
            r.append(self.act)
        return r + [0] * (NCOLS - len(r))

    @property
    def conv(self) -> ConvCase:
        """The conv's geometry in mcuforge.bench.matmul' terms (stride 1, same pad on all sides)."""
        cin, h, w, cout, pad = self.dims
        return ConvCase("f32", 1, cin, h, w, cout, 3, 3, 1, 1, (pad,) * 4)

    @property
    def n_in(self) -> int:
        if self.kind in ("conv3x3", "conv"):
            return self.dims[0] * self.dims[1] * self.dims[2]
        if self.kind in ("pool2x2", "pool"):
            return int(np.prod(self.dims))
        return self.dims[0]

    @property
    def n_out(self) -> int:
        if self.kind in ("conv3x3", "conv"):
            c = self.conv
            return c.cout * c.ho * c.wo
        if self.kind in ("pool2x2", "pool"):
            C, H, W = self.dims
            return C * (H // 2) * (W // 2)
        return self.dims[1]

    @property
    def work(self) -> tuple[int, str]:
        """(count, unit) of the record's "macs" column: MACs, or input elements for the pools."""
        if self.kind in ("conv3x3", "conv"):
            return self.conv.macs, "macs"
        if self.kind in ("pool2x2", "pool"):
            return self.n_in, "elements"
        return self.dims[0] * self.dims[1], "macs"

    @property
    def shape(self) -> str:
        """The record's shape string; "full" marks the convs' full scratch, "relu" a fused activation."""
        act = " relu" if self.act == ACT_RELU else ""
        if self.kind in ("conv3x3", "conv"):
            cin, h, w, cout, pad = self.dims
            return f"{cin}x{h}x{w}-{cout}-3x3p{pad} full{act}"
        if self.kind in ("pool2x2", "pool"):
            C, H, W = self.dims
            return f"{C}x{H}x{W} 2x2/2{act}"
        return f"1x{self.dims[0]}->{self.dims[1]}"


def infer_bench_cases() -> list[InferCase]:
    """The benchmark table: each fused kernel, then its general counterpart on the same shape."""
    cases = []
    for dims in (*MNIST_CONVS, RESNET8_CONV):
        cases += [InferCase("conv3x3", dims, ACT_RELU), InferCase("conv", dims)]
    for dims in MNIST_POOLS:
        cases += [InferCase("pool2x2", dims, ACT_RELU), InferCase("pool", dims)]
    cases.append(InferCase("linear", MNIST_LINEAR))
    return cases


def infer_operands(seed: int = 3) -> dict[str, np.ndarray]:
    """The driver's FP32 pools, uniform in [-1, 1)."""
    rng = np.random.default_rng(seed)
    return {k: rng.uniform(-1, 1, MAX_ELEMS).astype(np.float32) for k in ("x", "w", "b")}


def infer_reference(c: InferCase, ops: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """float64 output of case `c` on the driver's pools (flat, the kernel's layout) and its error scale."""
    x, w, b = (ops[k].astype(np.float64) for k in ("x", "w", "b"))
    if c.kind in ("conv3x3", "conv"):
        cc = c.conv
        n_w = cc.cout * cc.cin * 9
        ref, scale = conv_reference(cc, x[:c.n_in], w[:n_w], b[:cc.cout], np.zeros(c.n_out))
        y = ref["out"].ravel()
        # max(0, .) is 1-Lipschitz: the pre-activation scale still bounds the error
        return (np.maximum(y, 0.0) if c.act == ACT_RELU else y), scale["out"].ravel()
    if c.kind in ("pool2x2", "pool"):
        C, H, W = c.dims
        OH, OW = H // 2, W // 2
        xb = x[:c.n_in].reshape(C, H, W)[:, :2 * OH, :2 * OW].reshape(C, OH, 2, OW, 2)
        y = xb.max(axis=(2, 4)).ravel()
        if c.act == ACT_RELU:
            y = np.maximum(y, 0.0)
        return y, np.full(y.shape, max(float(np.max(np.abs(y))), 1e-30))
    n_in, n_out = c.dims
    W = w[:n_in * n_out].reshape(n_out, n_in)
    xi = x[:n_in]
    return W @ xi + b[:n_out], np.abs(W) @ np.abs(xi) + np.abs(b[:n_out])


def infer_bench_records(target: Target, exe: Build, timeout: float = 600.0) -> list[dict]:
    """Run the table in one execution of the built driver on `target`; one record per case."""
    cases = infer_bench_cases()
    ops = infer_operands()
    table = np.array([c.row() for c in cases], dtype=np.int32).reshape(-1, NCOLS)
    res = run(target, exe, {"cases": table, **ops}, timeout=timeout)
    scratch = res.outputs["scratch"]
    records = []
    for i, c in enumerate(cases):
        raw = res.outputs[f"y_{i}"]
        if raw.size != c.n_out + 2 * GUARD:
            raise McufError(f"{c} produced {raw.size - 2 * GUARD} outputs on {target.name}, expected {c.n_out}")
        if not (np.all(raw[:GUARD] == SENTINEL32) and np.all(raw[-GUARD:] == SENTINEL32)):
            raise McufError(f"{c} wrote outside its output on {target.name}")
        got = raw[GUARD:-GUARD].view(np.float32).astype(np.float64)
        ref, scale = infer_reference(c, ops)
        err = float(np.max(np.abs(got - ref) / np.maximum(scale, 1e-30)))
        kernel = {"conv3x3": "conv2d_3x3", "conv": "conv2d_fwd", "pool2x2": "maxpool2d_2x2", "pool": "maxpool2d",
                  "linear": "linear"}[c.kind]
        # the general conv runs the target's best matmul; every other kernel here is portable C
        backend = best_backend(target, "f32") if c.kind == "conv" else "c"
        macs, work = c.work
        rec = _record(kernel, "f32", "f32", backend, c.shape, macs, res.counts.get(f"case{i}"), err)
        rec.update(work=work, scratch=int(scratch[i]))
        records.append(rec)
    return records


def run_infer_bench(target_name: str, quiet: bool = False) -> list[dict]:
    """Build the inference driver for an emulated target and return its records (`quiet` is accepted for
    the signature of the other families: this one prints nothing either way)."""
    target = get_target(target_name)
    if not target.emulated:
        raise McufError(f"kernel benchmarks count retired instructions under QEMU; '{target_name}' has no counter")
    exe = build(target, list(SOURCES), include_dirs=[RUNTIME_SRC])
    return infer_bench_records(target, exe)
