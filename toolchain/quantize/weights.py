"""Quantization of one weight matrix: W [N out, K in] -> integers on a symmetric signed grid + scales.

The matrix is a layer's weight seen as rows = output channels, columns = the inputs each output
sums over (a Conv's weight [OC, C/G, kh, kw] reshaped [OC, C/G*kh*kw], a Gemm's B [N, K]). The grid
is symmetric and signed, [-qmax, qmax] with qmax = 2^(bits-1) - 1 (127, 7, 1 for 8, 4, 2 bits), as the
rest of mcuforge: real = scale * q, no zero point. Values come back in an int8 array.

Scale layout (`Layout`): scale(i, k) = scales[i // row_block, k // col_block], so one small 2-D grid of
scales covers every granularity:
- "oc": one scale per output channel (row_block 1, col_block K): today's per-channel quantization.
- "ic" (AdaDim's per input channel): one scale per input channel shared by every output channel of
  the layer (its conv group), or per `group_size` consecutive input channels. An input channel of a
  conv is kh*kw consecutive columns (`cols_per_channel`); row_block = N / groups.
- "group": group-wise along K, one scale per (row, `group_size` consecutive columns); the last group
  of a row may be shorter. `WeightQuant.qparams` writes it as ONNX blocked quantization
  (DequantizeLinear `block_size`) along axis 1 of the [N, K] view.

Methods (all minimise an error of the layer; `gram` = sum over the calibration data of x x^T, the
K x K Gram matrix of the layer's inputs, im2col columns for a conv, see mcuforge.quantize.layer_inputs):
- "rtn": scale = max|w| / qmax per scale cell, q = clip(round_half_even(w / scale)).
- "mse": RTN with the clipping scale of each cell chosen by a grid search, scale = max|w| / qmax * t
  for t in MSE_GRID (1 down to 0.3), minimising the squared weight error of the cell.
- "gptq" (Frantar et al.): columns in order; the error of each quantized column is spread over the
  columns not yet quantized with the upper Cholesky factor U of H^-1, H = 2 gram + 1% of its mean
  diagonal: W[:, k+1:] -= (w_k - q_k) / U[k, k] * U[k, k+1:], with lazy block updates. The scales of
  a cell are fixed when its first column is reached, from the current (already updated) weights, as
  the reference implementation does (per-OC: from W before any update). Inputs that are always 0
  (gram diagonal 0) get weight 0, as in the reference code.
- "quantease" (Behdin et al.): cyclic coordinate descent on the same objective: for column j with the
  others fixed the objective is quadratic in w_j, minimised at w_j + [(W - W^)Sigma]_j / Sigma_jj,
  which is then rounded onto the grid (the nearest grid point is the exact minimiser of a 1-D
  quadratic). Only products with Sigma = gram, no inversion. Scales from the original W; the
  iterate starts at W; every third sweep is left unquantized (the reference code's relaxation) except
  the final ones; the best quantized sweep is returned.
`scale_search="mse"` makes gptq / quantease choose their scales like "mse" instead of max|w|.

AdaDim (`granularity="adadim"`): quantizes with "oc" and "ic" and keeps the one with the lower
layer objective ||W X - Q(W) X||^2 = tr((W - W^) gram (W - W^)^T) (needs `gram`).

A grouped / depthwise conv has one Gram matrix per group ([G, K, K]): rows of group g see only
gram[g], so every method runs per group of rows (`groups`).

Pure functions on numpy arrays; the graph-level use is mcuforge.quantize.quantizer.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mcuforge.core.errors import McufError
from mcuforge.core.ir import QuantParams

WEIGHT_BITS = (8, 4, 2)
METHODS = ("rtn", "mse", "gptq", "quantease")
GRANULARITIES = ("oc", "ic", "group", "adadim")
SCALE_SEARCHES = ("absmax", "mse")
# Clipping ratios the "mse" search tries (1 first: ties keep the RTN scale, so it is never worse).
MSE_GRID = np.round(np.linspace(1.0, 0.3, 71), 4)
GPTQ_DAMP = 0.01
GPTQ_BLOCK = 128
QUANTEASE_SWEEPS = 30


def qmax_of(bits: int) -> int:
    """Largest grid value of a symmetric signed `bits`-wide grid (127, 7, 1)."""
    if bits not in WEIGHT_BITS:
        raise McufError(f"weight width {bits} bits is not supported; use one of {WEIGHT_BITS}")
    return (1 << (bits - 1)) - 1


@dataclass(frozen=True)
class Layout:
    """Where each scale applies: scale(i, k) = scales[i // row_block, k // col_block]."""

    row_block: int
    col_block: int

    def grid_shape(self, n: int, k: int) -> tuple[int, int]:
        return -(-n // self.row_block), -(-k // self.col_block)

    def expand(self, scales: np.ndarray, n: int, k: int) -> np.ndarray:
        """The [n, k] matrix of per-weight scales."""
        return np.repeat(np.repeat(scales, self.row_block, axis=0), self.col_block, axis=1)[:n, :k]

    def cells(self, a: np.ndarray) -> np.ndarray:
        """[R, C, row_block, col_block] view of `a` [n, k] zero-padded to whole cells."""
        n, k = a.shape
        r, c = self.grid_shape(n, k)
        p = np.zeros((r * self.row_block, c * self.col_block), a.dtype)
        p[:n, :k] = a
        return p.reshape(r, self.row_block, c, self.col_block).transpose(0, 2, 1, 3)


def layout_of(n: int, k: int, granularity: str, group_size: int | None = None, cols_per_channel: int = 1,
              groups: int = 1) -> Layout:
    """The Layout of a granularity for an [n, k] matrix of `groups` row groups (see the module doc).

    group_size: "group": columns per scale (required); "ic": input channels per scale (default 1)."""
    if granularity == "oc":
        return Layout(1, k)
    if granularity == "group":
        if not group_size or group_size < 1:
            raise McufError("group-wise weight quantization needs a group size >= 1")
        return Layout(1, min(int(group_size), k))
    if granularity == "ic":
        if n % groups:
            raise McufError(f"{n} output channels do not split into {groups} groups")
        if k % cols_per_channel:
            raise McufError(f"{k} columns are not whole input channels of {cols_per_channel} columns")
        return Layout(n // groups, min(cols_per_channel * int(group_size or 1), k))
    raise McufError(f"weight granularity '{granularity}' is unknown; choose one of {', '.join(GRANULARITIES)}")


@dataclass(frozen=True)
class WeightQuant:
    """A quantized weight matrix: q [N, K] int8 in [-qmax, qmax], scales float32 on `layout`'s grid.

    objective: the layer objective tr((W - W^) gram (W - W^)^T) = ||W X - W^ X||^2 summed over the
    calibration data (None when no Gram matrix was given); weight_error: ||W - W^||_F^2, with
    W^ = `dequantized()`. granularity is the one used ("oc" / "ic" / "group"; AdaDim's choice)."""

    q: np.ndarray
    scales: np.ndarray
    layout: Layout
    bits: int
    method: str
    granularity: str
    objective: float | None
    weight_error: float

    @property
    def qmax(self) -> int:
        return qmax_of(self.bits)

    def scale_matrix(self) -> np.ndarray:
        return self.layout.expand(self.scales, *self.q.shape)

    def dequantized(self) -> np.ndarray:
        """W^ = scale * q as float32 [N, K]."""
        return (self.q.astype(np.float32) * self.scale_matrix()).astype(np.float32)

    def qparams(self) -> QuantParams:
        """The scales as QuantParams of the [N, K] matrix: per-OC is axis 0; every other layout is
        ONNX blocked quantization along axis 1 (`block_size` = col_block, scale [N, ceil(K/col_block)])."""
        n, k = self.q.shape
        if self.layout.row_block == 1 and self.layout.col_block >= k:
            s = self.scales[:, 0].astype(np.float32)
            return QuantParams(s, np.zeros(s.shape, np.int32), bits=self.bits, signed=True, axis=0)
        s = np.repeat(self.scales, self.layout.row_block, axis=0)[:n].astype(np.float32)
        return QuantParams(s, np.zeros(s.shape, np.int32), bits=self.bits, signed=True, axis=1,
                           block_size=self.layout.col_block)


# ---------------------------------------------------------------------------------------------
# scales and rounding


def rtn_scales(w: np.ndarray, bits: int, layout: Layout) -> np.ndarray:
    """max|w| / qmax per cell (float32 arithmetic, as mcuforge.quantize.quantizer.quantize_weight);
    an all-zero cell gets scale 1 (any scale represents it exactly)."""
    absmax = np.abs(layout.cells(np.asarray(w, np.float32))).max(axis=(2, 3))
    scale = (absmax / np.float32(qmax_of(bits))).astype(np.float32)
    scale[scale == 0] = 1.0
    return scale


def round_to_grid(w: np.ndarray, scales: np.ndarray, layout: Layout, bits: int) -> np.ndarray:
    """q = clip(round_half_even(w / scale), -qmax, qmax) as int8 (float32 division)."""
    qmax = qmax_of(bits)
    w = np.asarray(w, np.float32)
    s = layout.expand(np.asarray(scales, np.float32), *w.shape)
    return np.clip(np.round(w / s), -qmax, qmax).astype(np.int8)


def mse_scales(w: np.ndarray, bits: int, layout: Layout, grid: np.ndarray = MSE_GRID) -> np.ndarray:
    """Per cell, the scale max|w| / qmax * t (t in `grid`) with the least squared weight error."""
    w = np.asarray(w, np.float32)
    base = rtn_scales(w, bits, layout)
    best = np.full(base.shape, np.inf)
    out = base.copy()
    for t in grid:
        s = (base * np.float32(t)).astype(np.float32)
        q = round_to_grid(w, s, layout, bits)
        err = (w.astype(np.float64) - q * layout.expand(s, *w.shape).astype(np.float64)) ** 2
        e = layout.cells(err).sum(axis=(2, 3))
        better = e < best
        best[better] = e[better]
        out[better] = s[better]
    return out


def find_scales(w: np.ndarray, bits: int, layout: Layout, search: str = "absmax") -> np.ndarray:
    if search == "absmax":
        return rtn_scales(w, bits, layout)
    if search == "mse":
        return mse_scales(w, bits, layout)
    raise McufError(f"scale search '{search}' is unknown; choose one of {', '.join(SCALE_SEARCHES)}")


def layer_objective(w: np.ndarray, w_hat: np.ndarray, gram: np.ndarray) -> float:
    """tr((W - W^) gram (W - W^)^T): ||W X - W^ X||^2 over the data whose Gram matrix is `gram`
    ([K, K], or [G, K, K] for G row groups)."""
    d = np.asarray(w, np.float64) - np.asarray(w_hat, np.float64)
    gram = np.asarray(gram, np.float64)
    if gram.ndim == 2:
        gram = gram[None]
    g = gram.shape[0]
    rows = d.reshape(g, -1, d.shape[1])
    return float(sum(np.einsum("ik,kl,il->", rows[i], gram[i], rows[i]) for i in range(g)))


# ---------------------------------------------------------------------------------------------
# GPTQ and QuantEase on one row group (all rows share `gram`)


def _upper_cholesky_of_inverse(h: np.ndarray) -> np.ndarray:
    """U upper triangular with H^-1 = U^T U (GPTQ's `Hinv`)."""
    lower = np.linalg.cholesky(h)
    eye = np.eye(h.shape[0])
    linv = np.linalg.solve(lower, eye)
    return np.linalg.cholesky(linv.T @ linv).T


def _gptq(w: np.ndarray, gram: np.ndarray, bits: int, layout: Layout, search: str, damp: float,
          block: int) -> tuple[np.ndarray, np.ndarray]:
    n, k = w.shape
    qmax = qmax_of(bits)
    W = np.asarray(w, np.float64).copy()
    H = 2.0 * np.asarray(gram, np.float64)
    dead = np.diag(H) == 0
    H[dead, dead] = 1.0
    W[:, dead] = 0.0
    mean_diag = float(np.mean(np.diag(H)))
    for attempt in range(6):  # more damping if H is numerically not positive definite
        Hd = H + np.eye(k) * damp * (10.0 ** attempt) * mean_diag
        try:
            U = _upper_cholesky_of_inverse(Hd)
            break
        except np.linalg.LinAlgError:
            continue
    else:
        raise McufError("GPTQ: the Hessian of the layer is not positive definite even with damping")
    cb = layout.col_block
    whole = cb >= k
    scales = np.zeros(layout.grid_shape(n, k), np.float32)
    if whole:  # per-OC: the scales come from W before any update, as in the reference
        scales[:] = find_scales(W, bits, layout, search)
    # blocks start where scale cells start, so a cell's scales see all earlier updates
    blk = block if whole else max(cb, (block // cb) * cb)
    Q = np.zeros((n, k), np.int8)
    rows = np.arange(n) // layout.row_block
    for i1 in range(0, k, blk):
        i2 = min(i1 + blk, k)
        err = np.zeros((n, i2 - i1))
        for j in range(i1, i2):
            c = j // cb
            if not whole and j % cb == 0:
                sub = Layout(layout.row_block, cb)
                scales[:, c] = find_scales(W[:, j:min(j + cb, k)], bits, sub, search)[:, 0]
            s = scales[rows, c].astype(np.float64)
            qj = np.clip(np.round(W[:, j] / s), -qmax, qmax)
            e = (W[:, j] - qj * s) / U[j, j]
            W[:, j:i2] -= np.outer(e, U[j, j:i2])
            err[:, j - i1] = e
            Q[:, j] = qj
        W[:, i2:] -= err @ U[i1:i2, i2:]
    return Q, scales


def _quantease(w: np.ndarray, gram: np.ndarray, bits: int, layout: Layout, search: str,
               sweeps: int) -> tuple[np.ndarray, np.ndarray]:
    n, k = w.shape
    qmax = qmax_of(bits)
    W = np.asarray(w, np.float64)
    S = np.asarray(gram, np.float64)
    diag = np.diag(S).copy()
    scales = find_scales(W, bits, layout, search)
    smat = layout.expand(scales, n, k).astype(np.float64)
    w_hat = W.copy()
    best_q, best_obj = None, math.inf
    for it in range(max(1, sweeps)):
        quantize = not (it % 3 == 1 and it < sweeps - 1 and it <= 25)
        R = (W - w_hat) @ S  # recomputed each sweep: no drift from the rank-1 updates
        for j in range(k):
            s = smat[:, j]
            if diag[j] == 0:  # an input that is always 0: any value; keep the nearest grid point to w
                new = np.clip(np.round(W[:, j] / s), -qmax, qmax) * s
            else:
                u = w_hat[:, j] + R[:, j] / diag[j]
                new = np.clip(np.round(u / s), -qmax, qmax) * s if quantize else u
            delta = new - w_hat[:, j]
            if np.any(delta):
                R -= np.outer(delta, S[j])
                w_hat[:, j] = new
        if quantize:
            q = np.round(w_hat / smat)
            d = W - q * smat
            obj = float(np.einsum("ik,kl,il->", d, S, d))
            if obj < best_obj:
                best_q, best_obj = q, obj
    return np.clip(best_q, -qmax, qmax).astype(np.int8), scales


# ---------------------------------------------------------------------------------------------


def quantize_matrix(w: np.ndarray, bits: int, *, method: str = "rtn", granularity: str = "oc",
                    group_size: int | None = None, gram: np.ndarray | None = None, cols_per_channel: int = 1,
                    groups: int = 1, scale_search: str = "absmax", damp: float = GPTQ_DAMP,
                    block: int = GPTQ_BLOCK, sweeps: int = QUANTEASE_SWEEPS) -> WeightQuant:
    """Quantize W [N, K] to `bits` (8/4/2) with `method` at `granularity` (see the module doc).

    gram: the layer's input Gram matrix sum(x x^T), [K, K] or [groups, K, K]; required by gptq,
    quantease and adadim, used by all for the returned objective. group_size: columns per scale for
    "group", input channels per scale for "ic" / AdaDim's per-IC candidate. cols_per_channel: columns
    of one input channel (kh*kw for a conv). groups: row groups with their own inputs (a grouped /
    depthwise conv; taken from gram's first dimension when gram is 3-D)."""
    w = np.asarray(w, np.float32)
    if w.ndim != 2:
        raise McufError(f"quantize_matrix takes a 2-D [N, K] matrix, not shape {w.shape}")
    if method not in METHODS:
        raise McufError(f"weight quantization method '{method}' is unknown; choose one of {', '.join(METHODS)}")
    if scale_search not in SCALE_SEARCHES:
        raise McufError(f"scale search '{scale_search}' is unknown; choose one of {', '.join(SCALE_SEARCHES)}")
    qmax_of(bits)
    n, k = w.shape
    if gram is not None:
        gram = np.asarray(gram, np.float64)
        if gram.ndim == 2:
            gram = gram[None]
        if gram.shape[1:] != (k, k):
            raise McufError(f"Gram matrix of shape {gram.shape} does not match a weight with {k} columns")
        groups = gram.shape[0]
    if n % groups:
        raise McufError(f"{n} output channels do not split into {groups} groups")
    if granularity == "adadim":
        if gram is None:
            raise McufError("AdaDim compares per-OC and per-IC on calibration data: it needs the Gram matrix")
        kw = dict(method=method, group_size=group_size, gram=gram, cols_per_channel=cols_per_channel,
                  groups=groups, scale_search=scale_search, damp=damp, block=block, sweeps=sweeps)
        oc = quantize_matrix(w, bits, granularity="oc", **kw)
        ic = quantize_matrix(w, bits, granularity="ic", **kw)
        return ic if ic.objective < oc.objective else oc
    if method in ("gptq", "quantease") and gram is None:
        raise McufError(f"'{method}' minimises the layer error on calibration data: it needs the Gram matrix")
    layout = layout_of(n, k, granularity, group_size, cols_per_channel, groups)
    search = "mse" if method == "mse" else scale_search
    og = n // groups
    sub = Layout(min(layout.row_block, og), layout.col_block)
    qs, ss = [], []
    for g in range(groups):
        wg = w[g * og:(g + 1) * og]
        if method in ("rtn", "mse"):
            s = find_scales(wg, bits, sub, search)
            q = round_to_grid(wg, s, sub, bits)
        elif method == "gptq":
            q, s = _gptq(wg, gram[g], bits, sub, search, damp, block)
        else:
            q, s = _quantease(wg, gram[g], bits, sub, search, sweeps)
        qs.append(q)
        ss.append(s)
    q = np.concatenate(qs, axis=0)
    scales = np.concatenate(ss, axis=0).astype(np.float32)
    res = WeightQuant(q, scales, layout, bits, method, granularity, None, 0.0)
    w_hat = res.dequantized()
    obj = layer_objective(w, w_hat, gram) if gram is not None else None
    err = float(np.sum((w.astype(np.float64) - w_hat) ** 2))
    return WeightQuant(q, scales, layout, bits, method, granularity, obj, err)


def adadim(w: np.ndarray, bits: int, gram: np.ndarray, **kw) -> WeightQuant:
    """AdaDim: per-OC or per-IC, whichever gives the lower layer objective (keywords of quantize_matrix)."""
    return quantize_matrix(w, bits, granularity="adadim", gram=gram, **kw)


__all__ = ["Layout", "WeightQuant", "quantize_matrix", "adadim", "layout_of", "rtn_scales", "mse_scales",
           "find_scales", "round_to_grid", "layer_objective", "qmax_of", "METHODS", "GRANULARITIES",
           "WEIGHT_BITS", "MSE_GRID"]
