"""int8 kernels on the host (cffi): bit-exact against integer numpy references built on
mcuforge.quantize.fixedpoint, and within one quantization step of onnxruntime running one-node QDQ models."""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from mcuforge.core.errors import McufError
from mcuforge.codegen.layouts import (pack_conv_weights_s8, pack_dwconv_weights_s2, pack_dwconv_weights_s4,
                                      unpack_dwconv_weights)
from mcuforge.quantize.fixedpoint import (fold_bias, quantize_multiplier, quantize_multipliers_shared, requantize,
                                          rounding_rshift)

from tests.support.s8_reference import (CONV_CASES, DW_CASES, FC_CASES, SUBBYTE_CONV_CASES, SUBBYTE_DW_CASES, SUBBYTE_FC_CASES, ConvCase, GuardedS8, conv_params, conv_ref, fc_ref, lib,
                     make_conv, make_fc, ort_binary, ort_conv, ort_fc, ort_unary, run_conv, run_fc)


def assert_close_to_ort(ours: np.ndarray, ort: np.ndarray, min_equal: float = 0.9) -> None:
    """At most one step apart everywhere, and mostly identical (the residue is float rounding)."""
    diff = np.abs(ours.astype(np.int32) - ort.astype(np.int32))
    assert diff.max() <= 1, f"max difference {diff.max()} steps"
    assert np.mean(diff == 0) >= min_equal, f"only {np.mean(diff == 0):.3f} equal"


# ------------------------------------------------------------------------------------------------ requant

def test_quantize_multiplier_represents_the_factor():
    for real in [1e-9, 3.1e-5, 0.0123, 0.4999999, 0.5, 0.75, 1.0, 1.9999999999, 7.3, 1000.0]:
        m, s = quantize_multiplier(real)
        assert 2**30 <= m < 2**31 and -31 <= s <= 30
        assert math.isclose(m * 2.0 ** (s - 31), real, rel_tol=2**-30)
    assert quantize_multiplier(0.0) == (0, 0)
    assert quantize_multiplier(1e-12) == (0, 0)  # cannot move any int32 accumulator
    with pytest.raises(McufError):
        quantize_multiplier(-0.5)
    with pytest.raises(McufError):
        quantize_multiplier(2.0**31)


def test_rounding_rshift_rounds_half_to_even():
    x = np.array([5, 6, 7, -5, -6, -7, 12, 20, -12, -20], np.int64)  # / 4: 1.25 1.5 1.75 ... 3 5 -3 -5
    np.testing.assert_array_equal(rounding_rshift(x, 2), np.round(x / 4.0).astype(np.int64))
    # Ties around each parity, as numpy's round (half to even) decides them.
    t = np.arange(-40, 41, dtype=np.int64) * 8 + 4
    np.testing.assert_array_equal(rounding_rshift(t, 3), np.round(t / 8.0).astype(np.int64))


def test_c_requantization_is_bit_exact_with_python():
    ffi, L = lib()
    rng = np.random.default_rng(5)
    acc = np.concatenate([rng.integers(-2**31, 2**31, 3000), rng.integers(-5000, 5000, 3000),
                          [-2**31, 2**31 - 1, 0, 1, -1]]).astype(np.int32)
    for real in [2.0**-40, 1e-9, 3e-6, 0.0071, 0.3, 0.5, 0.9999, 1.0, 1.5, 3.0, 2.0**29]:
        m, s = quantize_multiplier(real)
        for zp, lo, hi in [(0, -128, 127), (-17, -17, 127), (100, -50, 60)]:
            out = np.zeros(acc.size, np.int8)
            assert L.mcuf_requantize_s8(acc.size, ffi.from_buffer("int32_t[]", acc), m, s, zp, lo, hi,
                                        ffi.from_buffer("int8_t[]", out)) == L.MCUF_OK
            np.testing.assert_array_equal(out, requantize(acc, m, s, zp, lo, hi), err_msg=f"real={real}")


def test_c_requantization_ties_go_to_even():
    ffi, L = lib()
    # multiplier 2^30, shift -k: factor 2^(-1-k), so acc = odd * 2^k is an exact tie.
    for k in [0, 1, 4, 9, 20]:
        acc = (np.arange(-41, 42, 2, dtype=np.int64) << k).astype(np.int32)
        out = np.zeros(acc.size, np.int8)
        L.mcuf_requantize_s8(acc.size, ffi.from_buffer("int32_t[]", acc), 2**30, -k, 0, -128, 127,
                             ffi.from_buffer("int8_t[]", out))
        np.testing.assert_array_equal(out, np.round(acc / 2.0 ** (k + 1)).astype(np.int8))


def test_sub_byte_packing_layout():
    from mcuforge.codegen.layouts import pack_conv_weights_s2, pack_conv_weights_s4

    w = np.array([1, -2, 7, -8, 3], np.int8).reshape(5, 1, 1, 1)
    # block 0: ch0 | ch1 << 4, ch2 | ch3 << 4; block 1: ch4 and three zero channels
    np.testing.assert_array_equal(pack_conv_weights_s4(w), [0x1 | 0xE << 4, 0x7 | 0x8 << 4, 0x3, 0x0])
    w2 = np.array([1, -2, -1, 0], np.int8).reshape(4, 1, 1, 1)
    np.testing.assert_array_equal(pack_conv_weights_s2(w2), [0b00_11_10_01])
    with pytest.raises(McufError):
        pack_conv_weights_s4(np.full((4, 1, 1, 1), 8))


def test_pack_conv_weights_layout():
    w = np.arange(6 * 2 * 1 * 1, dtype=np.int8).reshape(6, 2, 1, 1)
    p = pack_conv_weights_s8(w).reshape(2, 2, 4)  # 2 blocks, K = 2, 4 channels
    assert p[0, 1, 2] == w[2, 1, 0, 0] and p[1, 0, 1] == w[5, 0, 0, 0]
    assert np.all(p[1, :, 2:] == 0)  # tail block zero-padded


def test_fold_bias_matches_zero_point_expansion():
    rng = np.random.default_rng(0)
    w = rng.integers(-127, 128, (3, 10)).astype(np.int8)
    x = rng.integers(-128, 128, 10)
    b = np.array([10, -20, 30], np.int32)
    z = 7
    # sum (x - z) w + b  ==  sum x w + bias'
    np.testing.assert_array_equal(w.astype(np.int64) @ (x - z) + b, w.astype(np.int64) @ x + fold_bias(b, w, z))


def test_pack_dwconv_weights_round_trip_and_layout():
    rng = np.random.default_rng(5)
    for bits, pack, (lo, hi) in ((4, pack_dwconv_weights_s4, (-8, 7)), (2, pack_dwconv_weights_s2, (-2, 1))):
        for shape in ((5, 1, 3, 3), (3, 2, 5, 5), (7, 1, 3, 3), (1, 1, 1, 1)):
            w = rng.integers(lo, hi + 1, shape).astype(np.int8)
            packed = pack(w)
            assert packed.dtype == np.uint8 and packed.size == -(-w.size * bits // 8)
            np.testing.assert_array_equal(unpack_dwconv_weights(packed, bits, shape), w)
        with pytest.raises(McufError):
            pack(np.full((1, 1, 3, 3), hi + 1, np.int8))
    # one stream, low bits first, two's complement
    np.testing.assert_array_equal(pack_dwconv_weights_s4(np.array([1, -1, -8], np.int8).reshape(3, 1, 1, 1)),
                                  np.array([0xF1, 0x08], np.uint8))
    np.testing.assert_array_equal(pack_dwconv_weights_s2(np.array([1, -1, -2, 0, -1], np.int8).reshape(5, 1, 1, 1)),
                                  np.array([0x2D, 0x03], np.uint8))


@pytest.mark.parametrize("case", SUBBYTE_DW_CASES,
                         ids=lambda c: f"{c.C}x{c.H}x{c.W}-{c.OC}-k{c.k}-s{c.stride}-g{c.group}-w{c.wbits}")
def test_packed_dwconv_equals_int8_dwconv(case: ConvCase):
    """mcuf_dwconv2d_s8w4 / _s8w2 give mcuf_dwconv2d_s8's bytes on the same integer weights."""
    q = make_conv(case)
    packed, guards = run_conv(q)
    assert guards
    q8 = make_conv(case)
    q8.case = replace(case, wbits=8)
    ref, _ = run_conv(q8)
    np.testing.assert_array_equal(packed, ref)


# ------------------------------------------------------------------------------------------------ conv / fc

@pytest.mark.parametrize("case", CONV_CASES + DW_CASES + SUBBYTE_CONV_CASES + SUBBYTE_DW_CASES,
                         ids=lambda c: f"{c.C}x{c.H}x{c.W}-{c.OC}-k{c.k}-s{c.stride}-g{c.group}-w{c.wbits}")
def test_conv_bit_exact_and_near_ort(case: ConvCase):
    q = make_conv(case)
    ours, guards = run_conv(q)
    assert guards
    np.testing.assert_array_equal(ours, conv_ref(q))
    assert_close_to_ort(ours, ort_conv(q))


# int8 weights run row-major and packed; sub-byte weights exist only packed.
FC_RUNS = [(c, False) for c in FC_CASES] + [(c, True) for c in FC_CASES + SUBBYTE_FC_CASES]


@pytest.mark.parametrize("case,packed", FC_RUNS,
                         ids=[f"{c.rows}x{c.In}-{c.Out}-w{c.wbits}-{'packed' if p else 'rows'}" for c, p in FC_RUNS])
def test_fc_bit_exact_and_near_ort(case, packed):
    q = make_fc(case)
    ours, guards = run_fc(q, packed)
    assert guards
    np.testing.assert_array_equal(ours, fc_ref(q))
    assert_close_to_ort(ours, ort_fc(q))


def test_conv_relu_clamps_at_output_zero_point():
    q = make_conv(CONV_CASES[1])
    ours, _ = run_conv(q)
    assert ours.min() == q.z_out  # some outputs were negative before the fused Relu


# ------------------------------------------------------------------------------------------------ add / mul

BCAST = {"none": 0, "channel": 1, "scalar": 2}


def _eltwise(op: str, bcast: str, relu: bool, seed: int):
    ffi, L = lib()
    rng = np.random.default_rng(seed)
    C, H, W = 5, 4, 7
    a = rng.integers(-128, 128, (1, C, H, W)).astype(np.int8)
    bshape = {"none": (1, C, H, W), "channel": (1, C, 1, 1), "scalar": (1,)}[bcast]
    b = rng.integers(-128, 128, bshape).astype(np.int8)
    qa, qb = (0.05, int(rng.integers(-20, 20))), (0.013, int(rng.integers(-20, 20)))
    fa = qa[0] * (a.astype(np.float64) - qa[1])
    fb = qb[0] * (b.astype(np.float64) - qb[1])
    real = fa + fb if op == "Add" else fa * fb
    qo = (float(np.abs(real).max() / 100), int(rng.integers(-10, 10)))
    if op == "Add":
        (ma, mb), shift = quantize_multipliers_shared([qa[0] / qo[0], qb[0] / qo[0]])
        s = (a.astype(np.int64) - qa[1]) * ma + (b.astype(np.int64) - qb[1]) * mb
        ref = np.clip(rounding_rshift(s, 31 - shift) + qo[1], qo[1] if relu else -128, 127).astype(np.int8)
    else:
        (ma, shift), mb = quantize_multiplier(qa[0] * qb[0] / qo[0]), 0
        prod = (a.astype(np.int64) - qa[1]) * (b.astype(np.int64) - qb[1])
        ref = requantize(prod, ma, shift, qo[1], qo[1] if relu else -128, 127)
    p = ffi.new("mcuf_binary_s8_params *", dict(C=C, HW=H * W, b_bcast=BCAST[bcast], a_zp=qa[1], b_zp=qb[1],
                                                out_zp=qo[1], a_mult=ma, b_mult=mb, shift=shift,
                                                 act_min=qo[1] if relu else -128, act_max=127))
    out = GuardedS8(C * H * W)
    fn = L.mcuf_add_s8 if op == "Add" else L.mcuf_mul_s8
    assert fn(p, ffi.from_buffer("int8_t[]", a), ffi.from_buffer("int8_t[]", b), out.ptr(ffi)) == L.MCUF_OK
    assert out.guards_intact()
    ours = out.out.reshape(1, C, H, W)
    np.testing.assert_array_equal(ours, ref)
    assert_close_to_ort(ours, ort_binary(op, a, b, qa, qb, qo, relu))
    return ffi, L, p, a, b


@pytest.mark.parametrize("op", ["Add", "Mul"])
@pytest.mark.parametrize("bcast", list(BCAST))
def test_add_mul(op, bcast):
    _eltwise(op, bcast, relu=(bcast == "channel"), seed=hash((op, bcast)) % 1000)


def test_add_in_place():
    ffi, L, p, a, b = _eltwise("Add", "none", False, 3)
    expected = np.zeros(a.size, np.int8)
    L.mcuf_add_s8(p, ffi.from_buffer("int8_t[]", a), ffi.from_buffer("int8_t[]", b), ffi.from_buffer("int8_t[]", expected))
    inplace = a.copy()
    buf = ffi.from_buffer("int8_t[]", inplace)
    assert L.mcuf_add_s8(p, buf, ffi.from_buffer("int8_t[]", b), buf) == L.MCUF_OK
    np.testing.assert_array_equal(inplace.ravel(), expected)


# ------------------------------------------------------------------------------------------------ pools

POOL_CASES = [  # (C, H, W, k, stride, pads t l b r, ceil_mode, count_include_pad)
    (3, 8, 8, (2, 2), (2, 2), (0, 0, 0, 0), 0, 0),
    (2, 7, 7, (3, 3), (2, 2), (1, 1, 1, 1), 0, 0),
    (2, 7, 7, (3, 3), (2, 2), (1, 1, 1, 1), 0, 1),
    (2, 6, 7, (3, 2), (2, 2), (0, 1, 0, 0), 1, 0),   # ceil_mode: last windows hang off the end
    (2, 6, 7, (3, 3), (2, 2), (1, 1, 1, 1), 1, 1),
    (1, 5, 5, (5, 5), (1, 1), (2, 2, 2, 2), 0, 0),
]


def _pool_out(H, k, s, pa, pb, ceil):
    num = H + pa + pb - k
    o = (-(-num // s) if ceil else num // s) + 1
    if ceil and (o - 1) * s >= H + pa:  # ONNX/PyTorch: the last window must start inside the input
        o -= 1
    return o


def _pool_setup(case, seed):
    C, H, W, k, st, pads, ceil, cip = case
    rng = np.random.default_rng(seed)
    x = rng.integers(-128, 128, (1, C, H, W)).astype(np.int8)
    OH = _pool_out(H, k[0], st[0], pads[0], pads[2], ceil)
    OW = _pool_out(W, k[1], st[1], pads[1], pads[3], ceil)
    return x, OH, OW


def _pool_params(ffi, case, OH, OW, z_in, z_out, mult, shift, keep):
    C, H, W, k, st, pads, ceil, cip = case
    m = ffi.new("int32_t[]", mult)
    s = ffi.new("int32_t[]", shift)
    keep += [m, s]
    return ffi.new("mcuf_pool2d_s8_params *", dict(
        C=C, H=H, W=W, OH=OH, OW=OW, kh=k[0], kw=k[1], stride_h=st[0], stride_w=st[1], pad_top=pads[0],
        pad_left=pads[1], pad_bottom=pads[2], pad_right=pads[3], count_include_pad=cip, in_zp=z_in, out_zp=z_out,
        act_min=-128, act_max=127, multiplier=m, shift=s))


def _pool_windows(x, case, OH, OW):
    """Per output: sum and max over the window cells inside the input, their count, and the count of
    window cells inside the padded input."""
    C, H, W, k, st, pads, ceil, cip = case
    sums = np.zeros((C, OH, OW), np.int64)
    mx = np.full((C, OH, OW), -128, np.int64)
    n_in = np.zeros((OH, OW), np.int64)
    n_pad = np.zeros((OH, OW), np.int64)
    for oh in range(OH):
        for ow in range(OW):
            rows = [oh * st[0] - pads[0] + i for i in range(k[0])]
            cols = [ow * st[1] - pads[1] + j for j in range(k[1])]
            ri = [r for r in rows if 0 <= r < H]
            ci = [c for c in cols if 0 <= c < W]
            n_in[oh, ow] = len(ri) * len(ci)
            n_pad[oh, ow] = sum(r < H + pads[2] for r in rows) * sum(c < W + pads[3] for c in cols)
            win = x[0][:, ri][:, :, ci].astype(np.int64)
            sums[:, oh, ow] = win.sum(axis=(1, 2))
            mx[:, oh, ow] = win.max(axis=(1, 2))
    return sums, mx, n_in, n_pad


@pytest.mark.parametrize("case", POOL_CASES)
def test_maxpool(case):
    ffi, L = lib()
    x, OH, OW = _pool_setup(case, 1)
    keep: list = []
    p = _pool_params(ffi, case, OH, OW, 3, 3, [0], [0], keep)
    out = GuardedS8(case[0] * OH * OW)
    assert L.mcuf_maxpool2d_s8(p, ffi.from_buffer("int8_t[]", x), out.ptr(ffi)) == L.MCUF_OK
    assert out.guards_intact()
    ours = out.out.reshape(1, case[0], OH, OW)
    _, mx, _, _ = _pool_windows(x, case, OH, OW)
    np.testing.assert_array_equal(ours[0], mx)
    C, H, W, k, st, pads, ceil, cip = case
    ort = ort_unary("MaxPool", x, 0.1, 3, 0.1, 3, [1, C, OH, OW], kernel_shape=list(k), strides=list(st),
                    pads=[pads[0], pads[1], pads[2], pads[3]], ceil_mode=ceil)
    np.testing.assert_array_equal(ours, ort)


@pytest.mark.parametrize("case", POOL_CASES)
def test_avgpool(case):
    ffi, L = lib()
    x, OH, OW = _pool_setup(case, 2)
    C, H, W, k, st, pads, ceil, cip = case
    s_in, z_in, s_out, z_out = 0.05, -7, 0.04, 5
    table = [quantize_multiplier(s_in / (s_out * d)) for d in range(1, k[0] * k[1] + 1)]
    sums, _, n_in, n_pad = _pool_windows(x, case, OH, OW)
    divisors = {0: n_in, 1: n_pad, 2: np.full_like(n_in, k[0] * k[1])}
    results = {}
    for mode in ([0] if cip == 0 else [1, 2]):
        keep: list = []
        p = _pool_params(ffi, case, OH, OW, z_in, z_out, [m for m, _ in table], [s for _, s in table], keep)
        p.count_include_pad = mode
        out = GuardedS8(C * OH * OW)
        assert L.mcuf_avgpool2d_s8(p, ffi.from_buffer("int8_t[]", x), out.ptr(ffi)) == L.MCUF_OK
        assert out.guards_intact()
        d = divisors[mode]
        mult = np.array([table[v - 1][0] for v in d.ravel()]).reshape(d.shape)
        shift = np.array([table[v - 1][1] for v in d.ravel()]).reshape(d.shape)
        np.testing.assert_array_equal(out.out.reshape(C, OH, OW), requantize(sums - z_in * n_in, mult, shift, z_out))
        results[mode] = out.out.reshape(1, C, OH, OW)
    # onnxruntime runs a QDQ AveragePool as its fused QLinearAveragePool, which divides by kh*kw
    # (mode 2) where onnx.reference and its own float kernel use mode 1; the two differ only for
    # ceil_mode windows hanging past the padding.
    ort = ort_unary("AveragePool", x, s_in, z_in, s_out, z_out, [1, C, OH, OW], kernel_shape=list(k),
                    strides=list(st), pads=[pads[0], pads[1], pads[2], pads[3]], ceil_mode=ceil,
                    count_include_pad=cip)
    assert_close_to_ort(results[2 if cip else 0], ort)


def test_global_avgpool():
    ffi, L = lib()
    rng = np.random.default_rng(9)
    C, H, W = 6, 5, 7
    x = rng.integers(-128, 128, (1, C, H, W)).astype(np.int8)
    s_in, z_in, s_out, z_out = 0.05, 11, 0.01, -3
    m, s = quantize_multiplier(s_in / (s_out * H * W))
    p = ffi.new("mcuf_global_avgpool_s8_params *", dict(C=C, HW=H * W, in_zp=z_in, out_zp=z_out, multiplier=m,
                                                        shift=s, act_min=-128, act_max=127))
    out = GuardedS8(C)
    assert L.mcuf_global_avgpool_s8(p, ffi.from_buffer("int8_t[]", x), out.ptr(ffi)) == L.MCUF_OK
    assert out.guards_intact()
    acc = x[0].astype(np.int64).reshape(C, -1).sum(axis=1) - z_in * H * W
    np.testing.assert_array_equal(out.out, requantize(acc, m, s, z_out))
    ort = ort_unary("GlobalAveragePool", x, s_in, z_in, s_out, z_out, [1, C, 1, 1])
    assert_close_to_ort(out.out.reshape(1, C, 1, 1), ort)


# ------------------------------------------------------------------------------------------------ errors

def test_conv_argument_errors():
    ffi, L = lib()
    q = make_conv(CONV_CASES[0])
    keep: list = []
    x = ffi.from_buffer("int8_t[]", q.x)
    wp = pack_conv_weights_s8(q.w)
    w = ffi.from_buffer("int8_t[]", wp)
    out = ffi.new("int8_t[]", q.case.OC * 64)
    scratch = ffi.new("int8_t[]", 4 * 27)

    def call(**changes):
        p = conv_params(ffi, q, keep)
        for k, v in changes.items():
            setattr(p, k, v)
        return L.mcuf_conv2d_s8(p, x, w, ffi.NULL, out, scratch)

    assert call() == L.MCUF_OK
    assert L.mcuf_conv2d_s8(ffi.NULL, x, w, ffi.NULL, out, scratch) == L.MCUF_ERR_ARG
    assert L.mcuf_conv2d_s8(conv_params(ffi, q, keep), ffi.NULL, w, ffi.NULL, out, scratch) == L.MCUF_ERR_ARG
    assert L.mcuf_conv2d_s8(conv_params(ffi, q, keep), x, w, ffi.NULL, out, ffi.NULL) == L.MCUF_ERR_SCRATCH
    assert call(OH=7) == L.MCUF_ERR_SHAPE
    assert call(stride_h=0) == L.MCUF_ERR_ARG
    assert call(pad_left=-1) == L.MCUF_ERR_ARG
    assert call(in_zp=128) == L.MCUF_ERR_ARG
    assert call(act_min=10, act_max=5) == L.MCUF_ERR_ARG
    assert call(group=3) == L.MCUF_ERR_ARG  # grouped convs go to mcuf_dwconv2d_s8
    assert call(multiplier=ffi.NULL) == L.MCUF_ERR_ARG
    p = conv_params(ffi, q, keep)
    p.group = 2  # C = 3 is not divisible by 2
    assert L.mcuf_dwconv2d_s8(p, x, w, ffi.NULL, out, scratch) == L.MCUF_ERR_SHAPE
    assert L.mcuf_conv2d_s8_scratch_size(ffi.NULL) == 0


def test_other_argument_errors():
    ffi, L = lib()
    buf = ffi.new("int8_t[]", 64)
    m = ffi.new("int32_t[]", [2**30] * 4)
    fc = ffi.new("mcuf_linear_s8_params *", dict(batch=1, in_features=4, out_features=4, out_zp=0, act_min=-128,
                                                 act_max=127, multiplier=m, shift=m))
    assert L.mcuf_linear_s8(fc, buf, ffi.NULL, ffi.NULL, buf) == L.MCUF_ERR_ARG
    fc.in_features = 0
    assert L.mcuf_linear_s8(fc, buf, buf, ffi.NULL, buf) == L.MCUF_ERR_ARG
    el = ffi.new("mcuf_binary_s8_params *", dict(C=2, HW=2, b_bcast=7, act_min=-128, act_max=127))
    assert L.mcuf_add_s8(el, buf, buf, buf) == L.MCUF_ERR_ARG
    el.b_bcast = 0
    el.shift = 31
    assert L.mcuf_mul_s8(el, buf, buf, buf) == L.MCUF_ERR_ARG
    pool = ffi.new("mcuf_pool2d_s8_params *", dict(C=1, H=4, W=4, OH=3, OW=2, kh=2, kw=2, stride_h=2, stride_w=2,
                                                   act_min=-128, act_max=127))
    assert L.mcuf_maxpool2d_s8(pool, buf, buf) == L.MCUF_ERR_SHAPE  # window 3 starts outside the input
    pool.OH = 2
    assert L.mcuf_maxpool2d_s8(pool, buf, ffi.new("int8_t[]", 4)) == L.MCUF_OK  # in and out must not overlap
    assert L.mcuf_avgpool2d_s8(pool, buf, buf) == L.MCUF_ERR_ARG  # no multiplier table
    gap = ffi.new("mcuf_global_avgpool_s8_params *", dict(C=1, HW=4, in_zp=-129, act_min=-128, act_max=127))
    assert L.mcuf_global_avgpool_s8(gap, buf, buf) == L.MCUF_ERR_ARG
    assert L.mcuf_requantize_s8(4, ffi.NULL, 2**30, 0, 0, -128, 127, buf) == L.MCUF_ERR_ARG

