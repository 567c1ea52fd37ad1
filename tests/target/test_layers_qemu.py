"""Training-layer kernels on the RISC-V targets under QEMU: one driver build and one run per target
(runtime_c/tests/layers_driver.c) executes a table of calls; every backend of every kernel is compared
with float64 numpy references (tolerances as in tests/support/layer_kernels.py), and the RVV depthwise conv
is checked to agree bit for bit with the portable code where it promises the same order of additions."""
from __future__ import annotations

import numpy as np
import pytest

from mcuforge.bench.layers import LayerCases, backends_for, dw_backends_for, run_layer_cases
from mcuforge.core.targets import TARGETS

from tests.support.layer_kernels import dwconv_grads_ref, dwconv_ref, max_rel_err, out_size, pool_windows, tol

pytestmark = pytest.mark.qemu

# (C, H, W), (kh, kw), (sh, sw), pads (top, left, bottom, right)
DW_CASES = [
    ((1, 1, 1), (1, 1), (1, 1), (0, 0, 0, 0)),
    ((3, 7, 7), (3, 3), (1, 1), (1, 1, 1, 1)),
    ((2, 7, 33), (3, 3), (2, 2), (1, 1, 1, 1)),
    ((3, 9, 8), (3, 3), (2, 1), (0, 1, 1, 1)),
    ((3, 33, 3), (5, 3), (1, 1), (2, 1, 2, 1)),
    ((1, 3, 7), (3, 3), (1, 1), (0, 0, 0, 0)),
    ((5, 25, 5), (3, 3), (1, 1), (1, 1, 1, 1)),
    ((33, 6, 5), (3, 3), (1, 1), (1, 1, 1, 1)),   # enough channels for the RVV channels-in-lanes gradient
    ((40, 7, 9), (3, 3), (2, 2), (1, 1, 1, 1)),
    ((2, 20, 20), (3, 3), (1, 1), (1, 1, 1, 1)),  # planes of several vector strips
    ((2, 33, 20), (5, 3), (1, 1), (2, 1, 2, 1)),
]


def geom(shape, k, s, pads):
    C, H, W = shape
    return dict(C=C, H=H, W=W, OH=out_size(H, k[0], s[0], pads[0], pads[2]), OW=out_size(W, k[1], s[1], pads[1], pads[3]),
                kh=k[0], kw=k[1], sh=s[0], sw=s[1], pt=pads[0], pl=pads[1], pb=pads[2], pr=pads[3])


def flat(g):
    """The RVV kernel's whole-plane path (same order of additions as the portable code)."""
    return g["sh"] == 1 and g["sw"] == 1 and g["OW"] == g["W"]


def build_table(target_name):
    """All calls for one target, with a checker per call: (call, check(outputs, results_by_key))."""
    rng = np.random.default_rng(42)
    cases = LayerCases()
    checks = []
    backends = backends_for(TARGETS[target_name])
    for shape, k, s, pads in DW_CASES:
        g = geom(shape, k, s, pads)
        x64 = rng.standard_normal(shape)
        w64 = rng.standard_normal((shape[0], *k))
        b64 = rng.standard_normal(shape[0])
        gy64 = rng.standard_normal((shape[0], g["OH"], g["OW"]))
        prev64 = [rng.standard_normal(a) for a in (shape, (shape[0], *k), (shape[0],))]
        for dtype, acc32 in (("f32", True), ("f16", False), ("f16", True)):
            nt = np.float16 if dtype == "f16" else np.float32
            x, w, b, gy = (a.astype(nt) for a in (x64, w64, b64, gy64))
            prev = [a.astype(nt) for a in prev64]
            y_ref = dwconv_ref(x.astype(np.float64), w.astype(np.float64), b.astype(np.float64), s, pads)
            gx_ref, gw_ref, gb_ref = dwconv_grads_ref(x.astype(np.float64), w.astype(np.float64),
                                                      gy.astype(np.float64), s, pads)
            plane = g["OH"] * g["OW"]
            kk = k[0] * k[1]
            for backend in dw_backends_for(TARGETS[target_name]) if dtype == "f16" else ["portable"]:
                key = (shape, k, s, pads, dtype, acc32)
                c = cases.dwconv("fwd", backend, dtype, g, acc32, x=x, w=w, b=b)
                checks.append((c, key + ("fwd", backend), [("y", y_ref, tol(nt, acc32, kk + 1))]))
                c = cases.dwconv("grad_input", backend, dtype, g, acc32, accumulate=True, gy=gy, w=w,
                                 init={"gx": prev[0]})
                checks.append((c, key + ("gin", backend),
                               [("gx", gx_ref + prev[0].astype(np.float64), tol(nt, acc32, kk + 1))]))
                c = cases.dwconv("grad_weight", backend, dtype, g, acc32, x=x, gy=gy)
                checks.append((c, key + ("gw", backend), [("gw", gw_ref, tol(nt, acc32, plane)),
                                                          ("gb", gb_ref, tol(nt, acc32, plane))]))
    for n in (1, 7, 33, 1000):
        x64, g64 = rng.standard_normal(n), rng.standard_normal(n)
        for dtype in ("f32", "f16"):
            nt = np.float16 if dtype == "f16" else np.float32
            x, gy = x64.astype(nt), g64.astype(nt)
            for backend in backends:
                checks.append((cases.relu(backend, dtype, x), None, [("y", np.maximum(x, 0), 0.0)]))
                checks.append((cases.relu(backend, dtype, x, gy), None, [("gx", np.where(x > 0, gy, 0), 0.0)]))
    # pooling (portable only), with references computed window by window
    for shape, k, s, pads in (((3, 7, 33), (3, 3), (2, 2), (1, 1, 1, 1)), ((2, 8, 8), (2, 2), (2, 2), (0, 0, 0, 0))):
        g = geom(shape, k, s, pads)
        x64 = rng.permutation(np.prod(shape)).reshape(shape) / 7.0  # distinct values: unambiguous argmax
        gy64 = rng.standard_normal((shape[0], g["OH"], g["OW"]))
        for dtype in ("f32", "f16"):
            nt = np.float16 if dtype == "f16" else np.float32
            x, gy = x64.astype(nt), gy64.astype(nt)
            xd, gd = x.astype(np.float64), gy.astype(np.float64)
            ymax, yavg = np.zeros(gy.shape), np.zeros(gy.shape)
            gmax, gavg = np.zeros(shape), np.zeros(shape)
            for oh, ow, h0, h1, w0, w1 in pool_windows(shape[1], shape[2], k, s, pads):
                win = xd[:, h0:h1, w0:w1].reshape(shape[0], -1)
                a = win.argmax(axis=1)
                ymax[:, oh, ow] = win.max(axis=1)
                yavg[:, oh, ow] = win.mean(axis=1)
                for c in range(shape[0]):
                    gmax[c, h0 + a[c] // (w1 - w0), w0 + a[c] % (w1 - w0)] += gd[c, oh, ow]
                gavg[:, h0:h1, w0:w1] += (gd[:, oh, ow] / win.shape[1])[:, None, None]
            t = tol(nt, False, 4)
            checks.append((cases.pool2d("maxpool2d", "portable", dtype, g, x=x), None, [("y", ymax, 0.0)]))
            checks.append((cases.pool2d("maxpool2d_grad", "portable", dtype, g, x=x, gy=gy), None, [("gx", gmax, t)]))
            checks.append((cases.pool2d("avgpool2d", "portable", dtype, g, x=x), None, [("y", yavg, tol(nt))]))
            checks.append((cases.pool2d("avgpool2d_grad", "portable", dtype, g, gy=gy), None, [("gx", gavg, t)]))
            xg = x.reshape(shape[0], -1)
            for acc32 in (True, False) if dtype == "f16" else (True,):
                checks.append((cases.global_avgpool("portable", dtype, shape[0], xg.shape[1], acc32, x=xg), None,
                               [("y", xg.astype(np.float64).mean(axis=1), tol(nt, acc32, xg.shape[1]))]))
            gg = gy[:, 0, 0].copy()
            checks.append((cases.global_avgpool("portable", dtype, shape[0], xg.shape[1], True, gy=gg), None,
                           [("gx", np.repeat(gg.astype(np.float64)[:, None] / xg.shape[1], xg.shape[1], 1), tol(nt))]))
    # softmax + cross-entropy
    for N, K in ((1, 1), (3, 7), (4, 33)):
        z64 = 4 * rng.standard_normal((N, K))
        lab = rng.integers(0, K, N)
        for dtype in ("f32", "f16"):
            z = z64.astype(np.float16 if dtype == "f16" else np.float32).astype(np.float64)
            e = np.exp(z - z.max(axis=1, keepdims=True))
            pr = e / e.sum(axis=1, keepdims=True)
            loss = float(np.mean(-np.log(pr[np.arange(N), lab])))
            gref = pr.copy()
            gref[np.arange(N), lab] -= 1
            c = cases.softmax_ce("portable", dtype, z.astype(np.float16 if dtype == "f16" else np.float32), lab, 8.0)
            checks.append((c, None, [("grad", gref / N * 8.0, 1e-5 if dtype == "f32" else 1e-3),
                                     ("loss", np.array([loss]), 1e-5)]))
    # SGD, PyTorch semantics (one step from a given momentum buffer)
    for n in (1, 7, 33, 100):
        w64, g64, m64 = rng.standard_normal(n), rng.standard_normal(n) * 0.1, rng.standard_normal(n) * 0.1
        for nesterov in (False, True):
            lr, mom, wd = 0.1, 0.9, 0.01
            for variant in ("f32", "f16", "master"):
                for backend in backends:
                    nt16 = variant != "f32"
                    gr = (g64 * (64.0 if nt16 else 1.0)).astype(np.float16 if nt16 else np.float32)
                    wr = w64.astype(np.float16 if variant == "f16" else np.float32)
                    mr = m64.astype(np.float16 if variant == "f16" else np.float32)
                    gd = gr.astype(np.float64) / (64.0 if nt16 else 1.0) + wd * wr.astype(np.float64)
                    buf = mom * mr.astype(np.float64) + gd
                    step = gd + mom * buf if nesterov else buf
                    wref = wr.astype(np.float64) - lr * step
                    c = cases.sgd(backend, "f32" if variant == "f32" else "f16", gr, wr, mr, lr, mom, wd, nesterov,
                                  1 / 64.0 if nt16 else 1.0, master=variant == "master")
                    t = {"f32": 1e-6, "f16": 2e-3, "master": 1e-6}[variant]
                    key = "master" if variant == "master" else "w"
                    checks.append((c, None, [(key, wref, t), ("mom", buf, t if variant != "f16" else 2e-3)]))
    for backend in backends:
        ok = np.linspace(-60000, 60000, 77).astype(np.float16)
        bad = ok.copy()
        bad[76] = np.inf
        checks.append((cases.all_finite(backend, "f16", ok), ("finite", True), []))
        checks.append((cases.all_finite(backend, "f16", bad), ("finite", False), []))
    return cases, checks


@pytest.fixture(scope="module", params=["rv32-zfh", "rv32-zvfh"])
def run(request):
    cases, checks = build_table(request.param)
    results = run_layer_cases(TARGETS[request.param], cases)
    return request.param, checks, results


def test_every_call_matches_numpy(run):
    name, checks, results = run
    failures = []
    for (call, key, expects), res in zip(checks, results):
        what = f"{call.kernel} {call.dtype} {call.backend} #{call.index} {key}"
        if key and key[0] == "finite":
            want = 0 if key[1] else -4  # MCUF_OK / MCUF_ERR_OVERFLOW
            if res.status != want:
                failures.append(f"{what}: status {res.status}, want {want}")
            continue
        if res.status != 0:
            failures.append(f"{what}: status {res.status}")
            continue
        assert res.instret and res.instret > 0, what
        for out, ref, t in expects:
            err = max_rel_err(res.outputs[out], ref)
            if not err <= t:
                failures.append(f"{what} {out}: max rel err {err:.3g} > {t:.3g}")
    assert not failures, "\n".join(failures)


def test_depthwise_backends_match_portable_exactly(run):
    """rvv (FP16 accumulation, whole-plane path) promises bit-identical forward and input gradient; zfh
    adds the zero padding as +-0 terms, so its forward and input gradient values are equal (a zero may
    differ in sign), for both policies."""
    name, checks, results = run
    by_key = {key: res for (call, key, _), res in zip(checks, results) if key and key[0] != "finite"}
    compared = 0
    for key, res in by_key.items():
        shape, k, s, pads, dtype, acc32, kind, backend = key
        port = by_key.get(key[:-1] + ("portable",))
        if backend == "zfh" and kind != "gw":
            for out in res.outputs:
                np.testing.assert_array_equal(res.outputs[out].astype(np.float32), port.outputs[out].astype(np.float32),
                                              err_msg=str(key))
            compared += 1
        if backend != "rvv" or dtype != "f16" or acc32:
            continue
        if kind == "gw" and not (k == (3, 3) and shape[0] >= 32):
            continue  # lanes-then-reduce order; the channels-in-lanes path keeps the portable order
        if not flat(geom(shape, k, s, pads)) and kind == "gin":
            continue  # strided scatter: another order of additions
        for out in res.outputs:
            np.testing.assert_array_equal(res.outputs[out].view(np.uint16), port.outputs[out].view(np.uint16),
                                          err_msg=str(key))
        compared += 1
    assert compared >= (8 + 20 if name == "rv32-zvfh" else 20)


def test_tuned_backends_retire_fewer_instructions_on_the_ds_cnn_layer(run):
    """Not a timing test: retired instructions are exact under QEMU; the tuned kernels must retire
    clearly fewer than the portable code for the same work."""
    name, checks, results = run
    counts = {key: res.instret for (call, key, _), res in zip(checks, results) if key and key[0] != "finite"}
    for kind in ("fwd", "gin", "gw"):
        key = ((5, 25, 5), (3, 3), (1, 1), (1, 1, 1, 1), "f16", False, kind)
        assert counts[key + ("zfh",)] * 2 < counts[key + ("portable",)], kind
        if name == "rv32-zvfh":
            assert counts[key + ("rvv",)] * 3 < counts[key + ("portable",)], kind
