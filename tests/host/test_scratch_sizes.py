"""Code generation sizes kernel scratch with mcuforge.codegen.scratch, Python mirrors of the C
`<kernel>_scratch_size` / `_min_scratch_size` functions (it runs no compiler). Each mirror equals its C
function (cffi, host) over a sweep of shapes, and every inference kernel with a C size function has one."""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import pytest

from mcuforge.codegen import kernels
from mcuforge.codegen.scratch import KERNELS_WITH_SCRATCH, min_scratch_size, scratch_size
from mcuforge.core.paths import RUNTIME_INCLUDE, RUNTIME_SRC
from mcuforge.run.hostlib import load_library

SOURCES = ["mcuf_matmul_f16.c", "mcuf_matmul_f32.c", "mcuf_conv.c", "mcuf_conv_s8.c", "mcuf_dwconv_s8.c"]


@lru_cache(maxsize=None)
def lib() -> tuple[Any, Any]:
    return load_library([RUNTIME_SRC / s for s in SOURCES], include_dirs=[RUNTIME_SRC],
                        headers=[RUNTIME_INCLUDE / h for h in ("mcuf_conv.h", "mcuf_dwconv.h")])


def out_size(n: int, k: int, s: int, p0: int, p1: int) -> int:
    return (n + p0 + p1 - k) // s + 1


# (C, H, W, OC, kh, kw, sh, sw, pads top/left/bottom/right, group)
SHAPES = [
    (3, 7, 5, 4, 3, 3, 1, 1, (1, 1, 1, 1), 1),
    (2, 8, 9, 3, 3, 3, 2, 2, (1, 1, 1, 1), 1),
    (5, 4, 6, 7, 1, 1, 1, 1, (0, 0, 0, 0), 1),   # pointwise: no scratch
    (5, 4, 6, 7, 1, 1, 2, 2, (0, 0, 0, 0), 1),   # 1x1 stride 2: im2col
    (3, 6, 6, 5, 5, 3, 1, 2, (2, 1, 2, 1), 1),
    (16, 32, 32, 16, 3, 3, 1, 1, (1, 1, 1, 1), 1),
    (1, 28, 28, 8, 3, 3, 1, 1, (0, 0, 0, 0), 1),  # 3x3 unpadded
    (2, 5, 6, 3, 3, 3, 1, 1, (2, 0, 1, 2), 1),
    (4, 8, 8, 4, 3, 3, 1, 1, (1, 1, 1, 1), 4),    # depthwise 3x3 padded: padded rows
    (3, 7, 130, 3, 3, 3, 2, 2, (1, 0, 1, 1), 3),
    (4, 6, 6, 4, 3, 3, 1, 1, (0, 0, 0, 0), 4),    # depthwise unpadded: none
    (4, 6, 6, 8, 3, 3, 1, 1, (1, 1, 1, 1), 4),    # depthwise multiplier 2
    (4, 6, 6, 6, 3, 3, 1, 1, (0, 1, 0, 1), 2),    # grouped: none
    (5, 9, 9, 5, 5, 5, 2, 2, (2, 2, 2, 2), 5),
]


def _dims(shape) -> dict:
    C, H, W, OC, kh, kw, sh, sw, (pt, pl, pb, pr), group = shape
    return dict(C=C, H=H, W=W, OC=OC, kh=kh, kw=kw, stride_h=sh, stride_w=sw, pad_top=pt, pad_left=pl,
                pad_bottom=pb, pad_right=pr, OH=out_size(H, kh, sh, pt, pb), OW=out_size(W, kw, sw, pl, pr),
                group=group)


@pytest.mark.parametrize("shape", [s for s in SHAPES if s[-1] == 1])
@pytest.mark.parametrize("dt,elem", [("f32", 4), ("f16", 2)])
def test_conv2d_float(shape, dt, elem):
    ffi, L = lib()
    d = _dims(shape)
    params = {k: d[k] for k in ("C", "H", "W", "OC", "kh", "kw", "stride_h", "stride_w", "pad_top", "pad_left",
                                "OH", "OW")}
    p = ffi.new("mcuf_conv2d_params *", dict(params, acc=1))
    func = f"mcuf_conv2d_{dt}"
    assert scratch_size(func, params) == getattr(L, f"{func}_scratch_size")(p)
    assert min_scratch_size(func, params) == getattr(L, f"{func}_min_scratch_size")(p)


@pytest.mark.parametrize("shape", [s for s in SHAPES if s[4] == s[5] == 3 and s[6] == s[7] == 1 and s[-1] == 1
                                   and max(s[8]) <= 2])
def test_conv2d_f32_3x3(shape):
    ffi, L = lib()
    d = _dims(shape)
    params = {k: d[k] for k in ("C", "H", "W", "OC", "pad_top", "pad_left", "OH", "OW")}
    params.update(act=0, act_lo=0.0, act_hi=0.0)
    p = ffi.new("mcuf_conv2d_3x3_params *", params)
    assert scratch_size("mcuf_conv2d_f32_3x3", params) == L.mcuf_conv2d_f32_3x3_scratch_size(p)
    assert min_scratch_size("mcuf_conv2d_f32_3x3", params) == L.mcuf_conv2d_f32_3x3_min_scratch_size(p)


@pytest.mark.parametrize("shape", SHAPES)
def test_int8_convs(shape):
    ffi, L = lib()
    params = dict(_dims(shape), in_zp=0, out_zp=0, act_min=-128, act_max=127)
    p = ffi.new("mcuf_conv2d_s8_params *", params)
    funcs = ["mcuf_dwconv2d_s8", "mcuf_dwconv2d_s8w4", "mcuf_dwconv2d_s8w2"] + (["mcuf_conv2d_s8", "mcuf_conv2d_s8w4", "mcuf_conv2d_s8w2"]
                                    if params["group"] == 1 else [])
    for func in funcs:
        assert scratch_size(func, params) == getattr(L, f"{func}_scratch_size")(p), func
        assert min_scratch_size(func, params) == scratch_size(func, params)


def test_every_inference_kernel_with_scratch_has_a_mirror():
    """The kernels with a C `_scratch_size` function, training gradients aside (codegen emits no training
    step yet), are exactly those codegen can size."""
    fns = set(kernels.manifest()["kernels"])
    sized = {m.group(1) for fn in fns if (m := re.fullmatch(r"(mcuf_\w+?)_(?:min_)?scratch_size", fn))}
    inference = {k for k in sized if "_grad_" not in k}
    assert inference == set(KERNELS_WITH_SCRATCH)
    assert all(k in fns for k in KERNELS_WITH_SCRATCH)

