"""Training-layer kernels (depthwise conv, ReLU, pooling, softmax-CE, SGD) under a target: a table of
kernel calls run by ONE driver program per target (runtime_c/tests/layers_driver.c), and the
benchmark records built on it.

`LayerCases` packs the inputs of many calls into shared pools and the call descriptions into an int32
table; `run_layer_cases` builds the driver for the target (cached) and runs it once, returning every
call's outputs, status and retired-instruction count. tests/target/test_layers_qemu.py uses the same
machinery to compare each backend with numpy; `layer_bench_records` measures representative shapes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from mcuforge.run import harness
from mcuforge.core.errors import McufError
from mcuforge.core.paths import RUNTIME_C, RUNTIME_SRC
from mcuforge.core.targets import Target, get_target

# Must match the enums of runtime_c/tests/layers_driver.c.
KERNELS = ("dwconv2d_fwd", "dwconv2d_grad_input", "dwconv2d_grad_weight", "relu", "relu_grad", "maxpool2d",
           "maxpool2d_grad", "avgpool2d", "avgpool2d_grad", "global_avgpool", "global_avgpool_grad",
           "softmax_ce", "sgd", "sgd_master", "all_finite")
COLS = dict(kernel=0, backend=1, dtype=2, acc=3, accumulate=4, C=5, H=6, W=7, OH=8, OW=9, kh=10, kw=11, sh=12,
            sw=13, pt=14, pl=15, pb=16, pr=17, flag=18, n=19, K=20, in0=21, in1=22, in2=23, out0=24, out1=25,
            out2=26, labels=27)
NCOLS = 32
BACKENDS = {"portable": 0, "rvv": 1, "zfh": 2}

DRIVER = RUNTIME_C / "tests" / "layers_driver.c"
SOURCES = [DRIVER] + [RUNTIME_SRC / s for s in (
    "mcuf_dwconv.c", "mcuf_dwconv_zfh.c", "mcuf_dwconv_rvv.c", "mcuf_act.c", "mcuf_act_rvv.c", "mcuf_pool.c", "mcuf_loss.c",
    "mcuf_optim.c", "mcuf_optim_rvv.c")]


def backends_for(target: Target) -> list[str]:
    """Backends of the elementwise kernels the target compiles: portable everywhere, rvv with Zvfh."""
    return ["portable", "rvv"] if target.fp16 == "vector" else ["portable"]


def dw_backends_for(target: Target) -> list[str]:
    """Backends of the FP16 depthwise conv: portable, zfh with Zfh, rvv with Zvfh."""
    return {"vector": ["portable", "zfh", "rvv"], "native": ["portable", "zfh"]}.get(target.fp16, ["portable"])


@dataclass
class _Out:
    pool: int  # 1 = FP16 pool, 0 = FP32 pool
    offset: int
    shape: tuple[int, ...]


@dataclass
class LayerCall:
    """One row of the table; `outputs` maps a name to where the driver leaves it."""

    index: int
    kernel: str
    backend: str
    dtype: str
    outputs: dict[str, _Out] = field(default_factory=dict)


@dataclass(frozen=True)
class CallResult:
    """What one call produced: its status, retired instructions, and its outputs by name."""

    status: int
    instret: int | None
    outputs: Mapping[str, np.ndarray]


class LayerCases:
    """Accumulates kernel calls for one driver run (inputs pooled, outputs given disjoint regions)."""

    def __init__(self) -> None:
        self.rows: list[np.ndarray] = []
        self.fparams: list[list[float]] = []
        self.pools_in: dict[int, list[np.ndarray]] = {0: [], 1: []}
        self.size_in = {0: 0, 1: 0}
        self.size_out = {0: 0, 1: 0}
        self.labels: list[np.ndarray] = []
        self.n_labels = 0
        self.copies: list[tuple[int, int, int, int]] = []
        self.calls: list[LayerCall] = []

    # -- packing --------------------------------------------------------------------------------
    def _put(self, arr: np.ndarray | None, pool: int) -> int:
        if arr is None:
            return -1
        a = np.ascontiguousarray(arr, dtype=np.float16 if pool else np.float32).ravel()
        off = self.size_in[pool]
        self.pools_in[pool].append(a)
        self.size_in[pool] += a.size + (-a.size) % 8  # 16-byte aligned starts
        if (-a.size) % 8:
            self.pools_in[pool].append(np.zeros((-a.size) % 8, a.dtype))
        return off

    def _out(self, call: LayerCall, name: str, pool: int, shape: tuple[int, ...],
             init: np.ndarray | None = None) -> int:
        size = int(np.prod(shape))
        off = self.size_out[pool]
        self.size_out[pool] += size + (-size) % 8
        call.outputs[name] = _Out(pool, off, tuple(shape))
        if init is not None:
            src = self._put(np.asarray(init).reshape(shape), pool)
            self.copies.append((pool, src, off, size))
        return off

    def _row(self, kernel: str, backend: str, dtype: str, fp: Sequence[float] = (0.0, 0.0, 0.0, 1.0),
             **cols: int) -> tuple[np.ndarray, LayerCall]:
        row = np.full(NCOLS, -1, np.int32)
        row[:21] = 0
        row[COLS["kernel"]] = KERNELS.index(kernel)
        row[COLS["backend"]] = BACKENDS[backend]
        row[COLS["dtype"]] = 1 if dtype == "f16" else 0
        for k, v in cols.items():
            row[COLS[k]] = v
        call = LayerCall(len(self.rows), kernel, backend, dtype)
        self.rows.append(row)
        self.fparams.append([float(v) for v in fp])
        self.calls.append(call)
        return row, call

    # -- calls ----------------------------------------------------------------------------------
    def dwconv(self, kind: str, backend: str, dtype: str, geom: Mapping[str, int], acc32: bool = True,
               accumulate: bool = False, x: np.ndarray | None = None, w: np.ndarray | None = None,
               b: np.ndarray | None = None, gy: np.ndarray | None = None,
               init: Mapping[str, np.ndarray] | None = None) -> LayerCall:
        """kind: fwd (x, w, b -> y), grad_input (gy, w -> gx), grad_weight (x, gy -> gw, gb).
        geom: C, H, W, OH, OW, kh, kw, sh, sw, pt, pl, pb, pr."""
        pool = 1 if dtype == "f16" else 0
        init = init or {}
        row, call = self._row(f"dwconv2d_{kind}", backend, dtype, acc=int(acc32), accumulate=int(accumulate), **geom)
        C, H, W, OH, OW = (geom[k] for k in ("C", "H", "W", "OH", "OW"))
        if kind == "fwd":
            row[COLS["in0"]], row[COLS["in1"]], row[COLS["in2"]] = self._put(x, pool), self._put(w, pool), self._put(b, pool)
            row[COLS["out0"]] = self._out(call, "y", pool, (C, OH, OW))
        elif kind == "grad_input":
            row[COLS["in0"]], row[COLS["in1"]] = self._put(gy, pool), self._put(w, pool)
            row[COLS["out0"]] = self._out(call, "gx", pool, (C, H, W), init.get("gx"))
        elif kind == "grad_weight":
            row[COLS["in0"]], row[COLS["in1"]] = self._put(x, pool), self._put(gy, pool)
            row[COLS["out0"]] = self._out(call, "gw", pool, (C, geom["kh"], geom["kw"]), init.get("gw"))
            row[COLS["out1"]] = self._out(call, "gb", pool, (C,), init.get("gb"))
        else:
            raise McufError(f"unknown depthwise conv call '{kind}'")
        return call

    def relu(self, backend: str, dtype: str, x: np.ndarray, gy: np.ndarray | None = None) -> LayerCall:
        """Forward (gy None) or backward of ReLU over x.size elements."""
        pool = 1 if dtype == "f16" else 0
        kernel = "relu" if gy is None else "relu_grad"
        row, call = self._row(kernel, backend, dtype, n=x.size)
        row[COLS["in0"]] = self._put(x, pool)
        row[COLS["in1"]] = self._put(gy, pool)
        row[COLS["out0"]] = self._out(call, "y" if gy is None else "gx", pool, x.shape)
        return call

    def pool2d(self, kernel: str, backend: str, dtype: str, geom: Mapping[str, int], x: np.ndarray | None = None,
               gy: np.ndarray | None = None, count_include_pad: bool = False) -> LayerCall:
        """maxpool2d(x), maxpool2d_grad(x, gy), avgpool2d(x), avgpool2d_grad(gy)."""
        pool = 1 if dtype == "f16" else 0
        row, call = self._row(kernel, backend, dtype, flag=int(count_include_pad), **geom)
        C, H, W, OH, OW = (geom[k] for k in ("C", "H", "W", "OH", "OW"))
        if kernel in ("maxpool2d", "avgpool2d"):
            row[COLS["in0"]] = self._put(x, pool)
            row[COLS["out0"]] = self._out(call, "y", pool, (C, OH, OW))
        elif kernel == "maxpool2d_grad":
            row[COLS["in0"]], row[COLS["in1"]] = self._put(x, pool), self._put(gy, pool)
            row[COLS["out0"]] = self._out(call, "gx", pool, (C, H, W))
        else:
            row[COLS["in0"]] = self._put(gy, pool)
            row[COLS["out0"]] = self._out(call, "gx", pool, (C, H, W))
        return call

    def global_avgpool(self, backend: str, dtype: str, C: int, HW: int, acc32: bool = True,
                       x: np.ndarray | None = None, gy: np.ndarray | None = None) -> LayerCall:
        pool = 1 if dtype == "f16" else 0
        kernel = "global_avgpool" if gy is None else "global_avgpool_grad"
        row, call = self._row(kernel, backend, dtype, C=C, n=HW, acc=int(acc32))
        row[COLS["in0"]] = self._put(x if gy is None else gy, pool)
        row[COLS["out0"]] = self._out(call, "y" if gy is None else "gx", pool, (C,) if gy is None else (C, HW))
        return call

    def softmax_ce(self, backend: str, dtype: str, logits: np.ndarray, labels: np.ndarray,
                   grad_scale: float = 1.0) -> LayerCall:
        pool = 1 if dtype == "f16" else 0
        N, K = logits.shape
        row, call = self._row("softmax_ce", backend, dtype, fp=(0, 0, 0, grad_scale), n=N, K=K)
        row[COLS["in0"]] = self._put(logits, pool)
        row[COLS["labels"]] = self.n_labels
        self.labels.append(np.asarray(labels, np.int32).ravel())
        self.n_labels += N
        row[COLS["out0"]] = self._out(call, "grad", pool, (N, K))
        row[COLS["out1"]] = self._out(call, "loss", 0, (1,))
        return call

    def sgd(self, backend: str, dtype: str, grad: np.ndarray, w: np.ndarray, mom: np.ndarray | None, lr: float,
            momentum: float, weight_decay: float, nesterov: bool = False, grad_scale_inv: float = 1.0,
            master: bool = False) -> LayerCall:
        """mcuf_sgd_f32/_f16 (w, mom in dtype) or, with master, mcuf_sgd_master_f16 (w, mom FP32)."""
        n = grad.size
        fp = (lr, momentum, weight_decay, grad_scale_inv)
        if master:
            row, call = self._row("sgd_master", backend, "f16", fp=fp, n=n, flag=int(nesterov))
            row[COLS["in0"]] = self._put(grad, 1)
            row[COLS["out0"]] = self._out(call, "master", 0, (n,), w)
            row[COLS["out1"]] = self._out(call, "mom", 0, (n,), mom) if mom is not None else -1
            row[COLS["out2"]] = self._out(call, "w16", 1, (n,))
            return call
        pool = 1 if dtype == "f16" else 0
        row, call = self._row("sgd", backend, dtype, fp=fp, n=n, flag=int(nesterov))
        row[COLS["in0"]] = self._put(grad, pool)
        row[COLS["out0"]] = self._out(call, "w", pool, (n,), w)
        row[COLS["out1"]] = self._out(call, "mom", pool, (n,), mom) if mom is not None else -1
        return call

    def all_finite(self, backend: str, dtype: str, x: np.ndarray) -> LayerCall:
        row, call = self._row("all_finite", backend, dtype, n=x.size)
        row[COLS["in0"]] = self._put(x, 1 if dtype == "f16" else 0)
        return call

    # -- files ----------------------------------------------------------------------------------
    def inputs(self) -> dict[str, np.ndarray]:
        """The driver's input tensors."""
        def cat(parts: list[np.ndarray], dtype: type) -> np.ndarray:
            return np.concatenate(parts + [np.zeros(8, dtype)]).astype(dtype)
        copies = np.array(self.copies, np.int32).reshape(-1, 4) if self.copies else np.zeros((0, 4), np.int32)
        return {
            "cases": np.stack(self.rows).astype(np.int32),
            "fparams": np.array(self.fparams, np.float32).reshape(-1, 4),
            "sizes": np.array([self.size_out[1] + 8, self.size_out[0] + 8], np.int32),
            "in16": cat(self.pools_in[1], np.float16),
            "in32": cat(self.pools_in[0], np.float32),
            "in_i32": np.concatenate(self.labels + [np.zeros(1, np.int32)]).astype(np.int32),
            "copies": copies,
        }


def build_layer_driver(target: Target) -> harness.Build:
    """The (cached) driver executable for `target`."""
    return harness.build(target, SOURCES)


def run_layer_cases(target: Target, cases: LayerCases, timeout: float = 300.0) -> list[CallResult]:
    """Run every call of `cases` in one driver run on `target`; results in call order."""
    if len(cases.rows) > 512:
        raise McufError(f"{len(cases.rows)} calls in one driver run; the driver takes at most 512")
    exe = build_layer_driver(target)
    res = harness.run(target, exe, cases.inputs(), timeout=timeout)
    pools = {1: res.outputs["out16"], 0: res.outputs["out32"]}
    status = res.outputs["status"]
    out: list[CallResult] = []
    for call in cases.calls:
        tensors = {}
        for name, o in call.outputs.items():
            size = int(np.prod(o.shape))
            tensors[name] = pools[o.pool][o.offset:o.offset + size].reshape(o.shape).copy()
        count = res.counts.get(f"case{call.index}")
        out.append(CallResult(int(status[call.index]), count, tensors))
    return out


# ---- float64 references (the benchmark's error column) ------------------------------------------

def dwconv_geom(C: int, H: int, W: int, k: int, stride: int, pad: int) -> dict[str, int]:
    """Params of a square-kernel, symmetric-pad depthwise conv (as the compiler would derive them)."""
    OH, OW = (H + 2 * pad - k) // stride + 1, (W + 2 * pad - k) // stride + 1
    return dict(C=C, H=H, W=W, OH=OH, OW=OW, kh=k, kw=k, sh=stride, sw=stride, pt=pad, pl=pad, pb=pad, pr=pad)


def _dw_ref(x: np.ndarray, w: np.ndarray, b: np.ndarray, gy: np.ndarray, g: Mapping[str, int]):
    """(y, gx, gw, gb) in float64."""
    C, H, W, OH, OW, kh, kw = (g[k] for k in ("C", "H", "W", "OH", "OW", "kh", "kw"))
    sh, sw, pt, pl = g["sh"], g["sw"], g["pt"], g["pl"]
    xp = np.zeros((C, H + g["pt"] + g["pb"], W + g["pl"] + g["pr"]))
    xp[:, pt:pt + H, pl:pl + W] = x
    y = np.broadcast_to(b[:, None, None], (C, OH, OW)).copy()
    gxp = np.zeros_like(xp)
    gw = np.zeros((C, kh, kw))
    for i in range(kh):
        for j in range(kw):
            sl = (slice(None), slice(i, i + sh * (OH - 1) + 1, sh), slice(j, j + sw * (OW - 1) + 1, sw))
            y += w[:, i, j][:, None, None] * xp[sl]
            gw[:, i, j] = (xp[sl] * gy).sum(axis=(1, 2))
            gxp[sl] += w[:, i, j][:, None, None] * gy
    return y, gxp[:, pt:pt + H, pl:pl + W], gw, gy.sum(axis=(1, 2))


def _rel(got: np.ndarray, ref: np.ndarray) -> float:
    got = np.asarray(got, np.float64).ravel()
    ref = np.asarray(ref, np.float64).ravel()
    return float(np.max(np.abs(got - ref)) / max(float(np.max(np.abs(ref))), 1e-30))


def layer_bench_records(target_name: str, quiet: bool = False) -> list[dict[str, Any]]:
    """Measure the training-layer kernels on `target_name` under QEMU (retired instructions).

    Records: {"kernel", "dtype", "backend", "shape", "macs", "instret", "mac_per_instr", "max_rel_err",
    "work"}. "macs" counts multiply-accumulates for the depthwise conv (C*OH*OW*kh*kw for each of
    forward, input gradient and weight gradient) and elements processed for the elementwise / pooling /
    loss / optimizer kernels ("work": "elements" then, "macs" otherwise). max_rel_err is max |out - ref|
    / max |ref| against float64 numpy on the same (rounded) inputs; FP16 kernels are measured with FP16
    accumulation (acc "f16") and FP32 accumulation (acc "f32") for the depthwise conv.
    """
    target = get_target(target_name)
    if not target.emulated:
        raise McufError(f"layer benchmarks count retired instructions under QEMU; '{target_name}' has no counter")
    rng = np.random.default_rng(0)
    cases = LayerCases()
    meta: list[tuple[LayerCall, dict[str, Any], Any]] = []  # (call, record fields, reference check)

    g = dwconv_geom(64, 25, 5, 3, 1, 1)  # DS-CNN depthwise layer
    macs = g["C"] * g["OH"] * g["OW"] * 9
    shape = "64x25x5 3x3"
    x64 = rng.standard_normal((64, 25, 5))
    w64 = rng.standard_normal((64, 3, 3)) * 0.3
    b64 = rng.standard_normal(64)
    gy64 = rng.standard_normal((64, 25, 5))
    for dtype in ("f16", "f32"):
        nt = np.float16 if dtype == "f16" else np.float32
        xr, wr, br, gyr = (a.astype(nt) for a in (x64, w64, b64, gy64))
        y, gx, gw, gb = _dw_ref(*(a.astype(np.float64) for a in (xr, wr, br, gyr)), g)
        accs = [False, True] if dtype == "f16" else [True]
        for backend in dw_backends_for(target) if dtype == "f16" else ["portable"]:
            for acc32 in accs:
                acc = "f32" if acc32 or dtype == "f32" else "f16"
                base = dict(dtype=dtype, backend=backend, shape=shape, macs=macs, work="macs", acc=acc)
                c = cases.dwconv("fwd", backend, dtype, g, acc32, x=xr, w=wr, b=br)
                meta.append((c, dict(base, kernel="dwconv2d_fwd"), lambda o, y=y: _rel(o["y"], y)))
                c = cases.dwconv("grad_input", backend, dtype, g, acc32, gy=gyr, w=wr)
                meta.append((c, dict(base, kernel="dwconv2d_grad_input"), lambda o, gx=gx: _rel(o["gx"], gx)))
                c = cases.dwconv("grad_weight", backend, dtype, g, acc32, x=xr, gy=gyr)
                meta.append((c, dict(base, kernel="dwconv2d_grad_weight"),
                             lambda o, gw=gw, gb=gb: max(_rel(o["gw"], gw), _rel(o["gb"], gb))))

    n = 64 * 25 * 5  # the DS-CNN activation
    xa = rng.standard_normal(n)
    ga = rng.standard_normal(n)
    for dtype in ("f16", "f32"):
        nt = np.float16 if dtype == "f16" else np.float32
        xr, gr = xa.astype(nt), ga.astype(nt)
        for backend in backends_for(target):
            base = dict(dtype=dtype, backend=backend, shape=str(n), macs=n, work="elements", acc="-")
            c = cases.relu(backend, dtype, xr)
            meta.append((c, dict(base, kernel="relu"), lambda o, r=np.maximum(xr, 0): _rel(o["y"], r)))
            c = cases.relu(backend, dtype, xr, gr)
            meta.append((c, dict(base, kernel="relu_grad"), lambda o, r=np.where(xr > 0, gr, 0): _rel(o["gx"], r)))

    # pooling: 2x2/2 max and average pool on a 16x32x32 map; global average pool of 64x125
    pg = dict(C=16, H=32, W=32, OH=16, OW=16, kh=2, kw=2, sh=2, sw=2, pt=0, pl=0, pb=0, pr=0)
    xp = rng.standard_normal((16, 32, 32))
    gyp = rng.standard_normal((16, 16, 16))
    blocks = xp.reshape(16, 16, 2, 16, 2).transpose(0, 1, 3, 2, 4).reshape(16, 16, 16, 4)
    for dtype in ("f16", "f32"):
        nt = np.float16 if dtype == "f16" else np.float32
        xr, gr = xp.astype(nt), gyp.astype(nt)
        bl = xr.astype(np.float64).reshape(16, 16, 2, 16, 2).transpose(0, 1, 3, 2, 4).reshape(16, 16, 16, 4)
        amax = bl.argmax(axis=3)
        gmax = np.zeros((16, 16, 16, 4))
        np.put_along_axis(gmax, amax[..., None], gr.astype(np.float64)[..., None], axis=3)
        gmax = gmax.reshape(16, 16, 16, 2, 2).transpose(0, 1, 3, 2, 4).reshape(16, 32, 32)
        gavg = np.repeat(np.repeat(gr.astype(np.float64) / 4, 2, axis=1), 2, axis=2)
        base = dict(dtype=dtype, backend="portable", shape="16x32x32 2x2/2", macs=xr.size, work="elements", acc="f32")
        refs = {"maxpool2d": ("y", bl.max(axis=3)), "maxpool2d_grad": ("gx", gmax),
                "avgpool2d": ("y", bl.mean(axis=3)), "avgpool2d_grad": ("gx", gavg)}
        for kernel, (name, ref) in refs.items():
            c = cases.pool2d(kernel, "portable", dtype, pg, x=xr, gy=gr)
            meta.append((c, dict(base, kernel=kernel), lambda o, name=name, ref=ref: _rel(o[name], ref)))
        xg = x64.reshape(64, 125).astype(nt)
        gg = b64.astype(nt)
        for acc32 in ([False, True] if dtype == "f16" else [True]):
            base = dict(dtype=dtype, backend="portable", shape="64x125", macs=xg.size, work="elements",
                        acc="f32" if acc32 else "f16")
            c = cases.global_avgpool("portable", dtype, 64, 125, acc32, x=xg)
            meta.append((c, dict(base, kernel="global_avgpool"),
                         lambda o, r=xg.astype(np.float64).mean(axis=1): _rel(o["y"], r)))
        c = cases.global_avgpool("portable", dtype, 64, 125, True, gy=gg)
        meta.append((c, dict(base, kernel="global_avgpool_grad", acc="-"),
                     lambda o, r=np.repeat(gg.astype(np.float64)[:, None] / 125, 125, axis=1): _rel(o["gx"], r)))
    del blocks

    # softmax + cross-entropy: a batch of 8 rows of 12 classes (DS-CNN keyword spotting)
    z = rng.standard_normal((8, 12)) * 3
    lab = rng.integers(0, 12, 8)
    for dtype in ("f16", "f32"):
        zr = z.astype(np.float16 if dtype == "f16" else np.float32)
        zz = zr.astype(np.float64)
        e = np.exp(zz - zz.max(axis=1, keepdims=True))
        pr = e / e.sum(axis=1, keepdims=True)
        gref = pr.copy()
        gref[np.arange(8), lab] -= 1
        gref /= 8
        c = cases.softmax_ce("portable", dtype, zr, lab)
        meta.append((c, dict(dtype=dtype, backend="portable", shape="8x12", macs=zr.size, work="elements",
                             acc="f32", kernel="softmax_ce"), lambda o, gref=gref: _rel(o["grad"], gref)))

    # SGD (momentum 0.9, weight decay 1e-4) over the DS-CNN depthwise weights + a 64x64 pointwise layer
    n = 64 * 9 + 64 * 64
    w0 = rng.standard_normal(n) * 0.1
    g0 = rng.standard_normal(n) * 0.01
    m0 = rng.standard_normal(n) * 0.01
    lr, mom, wd = 0.05, 0.9, 1e-4
    for variant in ("f32", "f16", "master"):
        dtype = "f32" if variant == "f32" else "f16"
        nt = np.float32 if variant == "f32" else np.float16
        gr = g0.astype(nt)
        wr = w0.astype(np.float32 if variant != "f16" else np.float16)
        mr = m0.astype(np.float32 if variant != "f16" else np.float16)
        d = gr.astype(np.float64) + wd * wr.astype(np.float64)
        buf = mom * mr.astype(np.float64) + d
        wref = wr.astype(np.float64) - lr * buf
        for backend in backends_for(target):
            c = cases.sgd(backend, dtype, gr, wr, mr, lr, mom, wd, master=variant == "master")
            key = "master" if variant == "master" else "w"
            meta.append((c, dict(dtype=dtype, backend=backend, shape=str(n), macs=n, work="elements", acc="f32",
                                 kernel="sgd_master" if variant == "master" else "sgd"),
                         lambda o, key=key, wref=wref: _rel(o[key], wref)))
    for backend in backends_for(target):
        gr = g0.astype(np.float16)
        c = cases.all_finite(backend, "f16", gr)
        meta.append((c, dict(dtype="f16", backend=backend, shape=str(n), macs=n, work="elements", acc="-",
                             kernel="all_finite"), lambda o: 0.0))

    results = run_layer_cases(target, cases)
    records: list[dict[str, Any]] = []
    for (call, rec, check), res in zip(meta, results):
        if res.status != 0:
            raise McufError(f"{rec['kernel']} {rec['dtype']} {rec['backend']} returned status {res.status} on {target_name}")
        instret = int(res.instret or 0)
        rec = dict(rec, target=target_name, instret=instret,
                   mac_per_instr=round(rec["macs"] / instret, 4) if instret else None,
                   max_rel_err=float(f"{check(res.outputs):.3g}"))
        records.append(rec)
    if not quiet:
        print(format_table(records))
    return records


def format_table(records: Sequence[Mapping[str, Any]]) -> str:
    """A plain-text table of benchmark records."""
    head = f"{'kernel':22s} {'dtype':5s} {'acc':4s} {'backend':9s} {'shape':16s} {'work':>8s} {'instret':>9s} {'per instr':>9s} {'max rel err':>11s}"
    lines = [head, "-" * len(head)]
    for r in records:
        unit = "MAC" if r["work"] == "macs" else "el"
        lines.append(f"{r['kernel']:22s} {r['dtype']:5s} {r['acc']:4s} {r['backend']:9s} {r['shape']:16s} "
                     f"{r['macs']:>8d} {r['instret']:>9d} {r['mac_per_instr']:>6.3f} {unit:>2s} {r['max_rel_err']:>11.3g}")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover - manual use: python -m mcuforge.bench.layers rv32-zvfh
    import sys

    for name in sys.argv[1:] or ["rv32-zfh", "rv32-zvfh"]:
        print(f"== {name}")
        layer_bench_records(name)
