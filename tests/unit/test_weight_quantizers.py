"""Weight quantizers (mcuforge.quantize.weights): RTN, MSE clipping, GPTQ, QuantEase, per-OC / per-IC /
group-wise scales and AdaDim's choice, on fixed random layer problems."""
from __future__ import annotations

import numpy as np
import pytest

from mcuforge.core.errors import McufError
from mcuforge.quantize.quantizer import quantize_weight
from mcuforge.quantize.weights import (GRANULARITIES, METHODS, Layout, layer_objective, layout_of, quantize_matrix,
                                       rtn_scales)

N, K, P = 24, 48, 1500
W_OUTLIER_IC = [5, 19, 33]
X_OUTLIER_IC = [2, 27, 40]


def _inputs(rng: np.random.Generator, outliers: bool) -> np.ndarray:
    """Correlated inputs X [K, P]; with `outliers`, a few input channels 10x larger."""
    mix = rng.normal(size=(K, K)) / np.sqrt(K) + 0.5 * np.eye(K)
    x = mix @ rng.normal(size=(K, P))
    if outliers:
        x[X_OUTLIER_IC] *= 10.0
    return x


@pytest.fixture(scope="module")
def outlier_problem():
    """Outlier input channels on both sides: weight columns 8x larger (as after SmoothQuant moved
    activation outliers into them, or AdaDim's input-channel weight outliers) and input channels
    10x larger elsewhere."""
    rng = np.random.default_rng(1234)
    w = rng.normal(size=(N, K)).astype(np.float32)
    w[:, W_OUTLIER_IC] *= 8.0
    x = _inputs(rng, outliers=True)
    return w, x, x @ x.T


@pytest.fixture(scope="module")
def plain_problem():
    """No outlier channel: output channels of different magnitudes (as after folding BatchNorm),
    inputs without outliers. Per-OC scales fit this one."""
    rng = np.random.default_rng(4321)
    w = (rng.normal(size=(N, K)) * np.exp(rng.normal(0.0, 1.0, size=(N, 1)))).astype(np.float32)
    x = _inputs(rng, outliers=False)
    return w, x, x @ x.T


def _direct_objective(w, w_hat, x) -> float:
    return float(np.sum((w.astype(np.float64) @ x - w_hat.astype(np.float64) @ x) ** 2))


def test_objective_is_the_output_error(outlier_problem):
    """The reported objective is ||W X - W^ X||^2 on the data whose Gram matrix is given."""
    w, x, gram = outlier_problem
    for method in METHODS:
        r = quantize_matrix(w, 4, method=method, gram=gram)
        direct = _direct_objective(w, r.dequantized(), x)
        assert r.objective == pytest.approx(direct, rel=1e-6)
        assert r.weight_error == pytest.approx(float(np.sum((w - r.dequantized()) ** 2.0)), rel=1e-6)


@pytest.mark.parametrize("problem", ["outlier_problem", "plain_problem"])
@pytest.mark.parametrize("bits", [4, 2])
@pytest.mark.parametrize("granularity", ["oc", "ic", "group"])
@pytest.mark.parametrize("search", ["absmax", "mse"])
def test_gptq_and_quantease_reduce_the_layer_objective(request, problem, bits, granularity, search):
    """Against RTN with the same scale choice. (GPTQ's margin is thin at 2 bits group-wise with
    max|w| scales: the scales of later groups come from weights the compensation has grown.)"""
    w, _, gram = request.getfixturevalue(problem)
    kw = dict(granularity=granularity, group_size=16 if granularity == "group" else None, gram=gram,
              scale_search=search)
    rtn = quantize_matrix(w, bits, method="mse" if search == "mse" else "rtn", **kw).objective
    gptq = quantize_matrix(w, bits, method="gptq", **kw).objective
    qe = quantize_matrix(w, bits, method="quantease", **kw).objective
    assert gptq < (0.99 if bits == 2 else 0.7) * rtn, (gptq, rtn)
    assert qe < 0.8 * rtn, (qe, rtn)


def _obq_reference(w: np.ndarray, h: np.ndarray, scale: np.ndarray, qmax: int) -> np.ndarray:
    """GPTQ's column order done the slow way (OBQ's update with the inverse Hessian of the columns
    left, recomputed after each column): what the Cholesky form with lazy blocks must equal."""
    w = w.astype(np.float64).copy()
    n, k = w.shape
    q = np.zeros((n, k))
    for j in range(k):
        q[:, j] = np.clip(np.round(w[:, j] / scale), -qmax, qmax)
        hinv = np.linalg.inv(h[j:, j:])
        err = (w[:, j] - q[:, j] * scale) / hinv[0, 0]
        w[:, j:] -= np.outer(err, hinv[0, :])
    return q


@pytest.mark.parametrize("block", [128, 5, 1])
def test_gptq_equals_the_obq_update(block):
    rng = np.random.default_rng(11)
    w = rng.normal(size=(5, 12)).astype(np.float32)
    x = (rng.normal(size=(12, 12)) + np.eye(12)) @ rng.normal(size=(12, 300))
    gram = x @ x.T
    r = quantize_matrix(w, 4, method="gptq", gram=gram, block=block)
    h = 2 * gram + 0.01 * np.mean(np.diag(2 * gram)) * np.eye(12)
    ref = _obq_reference(w, h, r.scales[:, 0].astype(np.float64), 7)
    np.testing.assert_array_equal(r.q, ref)


@pytest.mark.parametrize("bits", [8, 4, 2])
@pytest.mark.parametrize("granularity", ["oc", "ic", "group"])
def test_mse_clipping_reduces_the_weight_error(outlier_problem, bits, granularity):
    w, _, _ = outlier_problem
    kw = dict(granularity=granularity, group_size=16)
    rtn = quantize_matrix(w, bits, method="rtn", **kw)
    mse = quantize_matrix(w, bits, method="mse", **kw)
    assert mse.weight_error <= rtn.weight_error
    if bits < 8:
        assert mse.weight_error < (0.99 if granularity == "group" else 0.95) * rtn.weight_error
        assert np.any(mse.scales < rtn.scales)  # some scales are clipped below max|w| / qmax


@pytest.mark.parametrize("bits", [8, 4, 2])
def test_no_method_leaves_the_grid(outlier_problem, bits):
    w, _, gram = outlier_problem
    qmax = 2 ** (bits - 1) - 1
    for method in METHODS:
        for granularity in GRANULARITIES:
            for search in ("absmax", "mse"):
                r = quantize_matrix(w, bits, method=method, granularity=granularity, group_size=16, gram=gram,
                                    scale_search=search)
                assert r.q.dtype == np.int8 and r.q.shape == w.shape
                assert np.abs(r.q).max() <= qmax, (method, granularity, search)
                assert np.all(r.scales > 0) and np.all(np.isfinite(r.scales))


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("bits", [8, 4, 2])
def test_group_size_k_is_per_output_channel(outlier_problem, method, bits):
    w, _, gram = outlier_problem
    oc = quantize_matrix(w, bits, method=method, gram=gram)
    for g in (K, 4 * K):
        grp = quantize_matrix(w, bits, method=method, granularity="group", group_size=g, gram=gram)
        np.testing.assert_array_equal(grp.q, oc.q)
        np.testing.assert_array_equal(grp.scales, oc.scales)
        assert grp.objective == oc.objective


@pytest.mark.parametrize("bits", [8, 4, 2])
def test_rtn_per_oc_is_todays_quantize_weight(bits):
    rng = np.random.default_rng(3)
    w = rng.normal(size=(8, 4, 3, 3)).astype(np.float32) * rng.uniform(0.1, 3, (8, 1, 1, 1)).astype(np.float32)
    w[2] = 0.0
    q_old, qp_old = quantize_weight(w, bits, axis=0)
    r = quantize_matrix(w.reshape(8, -1), bits)
    np.testing.assert_array_equal(r.q, q_old.reshape(8, -1))
    np.testing.assert_array_equal(r.qparams().scale, qp_old.scale)
    assert r.qparams().axis == 0 and r.qparams().block_size is None


def test_per_ic_beats_per_oc_on_outliers_and_adadim_chooses(outlier_problem, plain_problem):
    w, _, gram = outlier_problem
    for method in ("rtn", "gptq"):
        oc = quantize_matrix(w, 4, method=method, granularity="oc", gram=gram)
        ic = quantize_matrix(w, 4, method=method, granularity="ic", gram=gram)
        assert ic.objective < 0.8 * oc.objective, method
        pick = quantize_matrix(w, 4, method=method, granularity="adadim", gram=gram)
        assert pick.granularity == "ic" and pick.objective == ic.objective
    w, _, gram = plain_problem
    for method in ("rtn", "gptq"):
        oc = quantize_matrix(w, 4, method=method, granularity="oc", gram=gram)
        ic = quantize_matrix(w, 4, method=method, granularity="ic", gram=gram)
        assert oc.objective < ic.objective
        pick = quantize_matrix(w, 4, method=method, granularity="adadim", gram=gram)
        assert pick.granularity == "oc" and pick.objective == oc.objective


def test_layouts_and_qparams(outlier_problem):
    """Scales land where the layout says; qparams() describes the [N, K] matrix as ONNX would
    (per-OC on axis 0, else blocked along axis 1)."""
    w, _, _ = outlier_problem
    # group-wise with a last, shorter group: K = 48 = 2 * 20 + 8
    r = quantize_matrix(w, 4, granularity="group", group_size=20)
    assert r.scales.shape == (N, 3)
    qp = r.qparams()
    assert qp.axis == 1 and qp.block_size == 20 and qp.scale.shape == (N, 3) and qp.bits == 4
    deq = r.q * qp.scale[:, np.arange(K) // qp.block_size]
    np.testing.assert_allclose(deq, r.dequantized(), rtol=0, atol=0)
    for j0 in range(0, K, 20):  # each group's scale is its own max|w| / 7
        np.testing.assert_allclose(r.scales[:, j0 // 20], np.abs(w[:, j0:j0 + 20]).max(1) / 7, rtol=1e-6)
    # per-IC of a conv: kh*kw = 3 columns per channel, pairs of input channels share a scale
    r = quantize_matrix(w, 4, granularity="ic", cols_per_channel=3, group_size=2)
    assert r.layout == Layout(N, 6) and r.scales.shape == (1, K // 6)
    np.testing.assert_allclose(r.scales[0], np.abs(w).reshape(N, K // 6, 6).max(axis=(0, 2)) / 7, rtol=1e-6)
    qp = r.qparams()
    assert qp.axis == 1 and qp.block_size == 6 and qp.scale.shape == (N, K // 6)
    np.testing.assert_array_equal(r.q * qp.scale[:, np.arange(K) // 6], r.dequantized())
    with pytest.raises(McufError):
        layout_of(N, K, "group")
    with pytest.raises(McufError):
        layout_of(N, 10, "ic", cols_per_channel=3)


def test_grouped_conv_quantizes_each_group_on_its_own_inputs():
    """A depthwise conv: one Gram matrix per channel; per-IC equals per-OC there (one input channel
    per group); GPTQ uses each group's own Gram matrix."""
    rng = np.random.default_rng(5)
    c, kk = 6, 9
    w = rng.normal(size=(c, kk)).astype(np.float32)
    xs = [rng.normal(size=(kk, kk)) @ rng.normal(size=(kk, 400)) for _ in range(c)]
    gram = np.stack([x @ x.T for x in xs])
    oc = quantize_matrix(w, 2, gram=gram, cols_per_channel=kk)
    ic = quantize_matrix(w, 2, granularity="ic", gram=gram, cols_per_channel=kk)
    np.testing.assert_array_equal(oc.q, ic.q)
    gptq = quantize_matrix(w, 2, method="gptq", gram=gram)
    direct = sum(_direct_objective(w[i:i + 1], gptq.dequantized()[i:i + 1], xs[i]) for i in range(c))
    assert gptq.objective == pytest.approx(direct, rel=1e-6)
    assert gptq.objective < oc.objective
    # each channel's result is what its own problem gives
    one = quantize_matrix(w[3:4], 2, method="gptq", gram=gram[3])
    np.testing.assert_array_equal(gptq.q[3:4], one.q)


def test_all_zero_rows_and_dead_inputs():
    rng = np.random.default_rng(6)
    w = rng.normal(size=(4, 8)).astype(np.float32)
    w[1] = 0.0
    x = rng.normal(size=(8, 200))
    x[2] = 0.0  # an input that is always 0
    gram = x @ x.T
    for method in METHODS:
        r = quantize_matrix(w, 4, method=method, gram=gram)
        assert np.all(r.q[1] == 0) and np.all(np.isfinite(r.scales))
        assert r.objective == pytest.approx(_direct_objective(w, r.dequantized(), x), rel=1e-6, abs=1e-9)


def test_errors():
    w = np.ones((4, 8), np.float32)
    with pytest.raises(McufError, match="Gram"):
        quantize_matrix(w, 4, method="gptq")
    with pytest.raises(McufError, match="Gram"):
        quantize_matrix(w, 4, granularity="adadim")
    with pytest.raises(McufError, match="not supported"):
        quantize_matrix(w, 3)
    with pytest.raises(McufError, match="unknown"):
        quantize_matrix(w, 4, method="awq")
    assert rtn_scales(np.zeros((2, 3), np.float32), 4, Layout(1, 3)).tolist() == [[1.0], [1.0]]
    assert layer_objective(w, w, np.eye(8)) == 0.0
