"""Scratch bytes of the runtime_c kernels, for the arena planner.

Every kernel that takes scratch has a C size function, `<kernel>_scratch_size(p)` (and, for kernels
that also run in bands with less, `<kernel>_min_scratch_size(p)`). Code generation runs no C compiler,
so it cannot call them: this module holds one mirror per C function, computing the same number from the
same params dict the kernel call gets (keys = the C field names), and codegen asks it by kernel name
instead of writing its own formula. tests/host/test_scratch_sizes.py checks every mirror against its C
function through cffi over a sweep of shapes, and that every kernel codegen can call with scratch has
one.

Mirrors assume valid params (codegen only emits those); the C functions also return 0 for invalid ones.
"""
from __future__ import annotations

from typing import Callable, Mapping

from mcuforge.core.errors import McufError

Params = Mapping[str, object]

_CONV_BAND_MIN_OC = 4  # CONV_BAND_MIN_COUT in mcuf_conv.c


def _conv2d_is_pointwise(p: Params) -> bool:
    return (p["kh"] == p["kw"] == 1 and p["stride_h"] == p["stride_w"] == 1 and p["pad_top"] == p["pad_left"] == 0
            and p["OH"] == p["H"] and p["OW"] == p["W"])


def _conv2d_col_elems(p: Params) -> int:
    """mcuf_conv.c conv_col_elems: the im2col matrix [C*kh*kw, OH*OW] (0 when no im2col is needed)."""
    return 0 if _conv2d_is_pointwise(p) else p["C"] * p["kh"] * p["kw"] * p["OH"] * p["OW"]


def conv2d_scratch_size(p: Params, elem: int) -> int:
    """mcuf_conv2d_f16/f32_scratch_size (and ..._grad_weight_..._scratch_size): the im2col matrix."""
    return _conv2d_col_elems(p) * elem


def conv2d_min_scratch_size(p: Params, elem: int) -> int:
    """mcuf_conv2d_f16/f32_min_scratch_size: one output row's columns plus up to 4 channels' product."""
    if _conv2d_is_pointwise(p):
        return 0
    band = (p["C"] * p["kh"] * p["kw"] + min(p["OC"], _CONV_BAND_MIN_OC)) * p["OW"] * elem
    return min(band, conv2d_scratch_size(p, elem))


def _conv2d_3x3_unpadded(p: Params) -> bool:
    return p["pad_top"] == 0 and p["pad_left"] == 0 and p["OH"] + 2 == p["H"] and p["OW"] + 2 == p["W"]


def conv2d_f32_3x3_scratch_size(p: Params) -> int:
    """mcuf_conv2d_f32_3x3_scratch_size: the zero-padded input [C, OH + 2, OW + 2] (0 unpadded)."""
    return 0 if _conv2d_3x3_unpadded(p) else p["C"] * (p["OH"] + 2) * (p["OW"] + 2) * 4


def conv2d_f32_3x3_min_scratch_size(p: Params) -> int:
    """mcuf_conv2d_f32_3x3_min_scratch_size: the padded rows of one output row, [C, 3, OW + 2]."""
    return 0 if _conv2d_3x3_unpadded(p) else min(p["C"] * 3 * (p["OW"] + 2) * 4, conv2d_f32_3x3_scratch_size(p))


def conv2d_s8_scratch_size(p: Params) -> int:
    """mcuf_conv2d_s8/_s8w4/_s8w2_scratch_size: the im2col of 4 output pixels (0 for an unpadded 1x1
    stride-1 conv, which reads its input directly)."""
    direct = (p["kh"] == p["kw"] == 1 and p["stride_h"] == p["stride_w"] == 1
              and not any((p["pad_top"], p["pad_left"], p["pad_bottom"], p["pad_right"])))
    return 0 if direct else 4 * p["C"] * p["kh"] * p["kw"]


def dwconv2d_s8_scratch_size(p: Params) -> int:
    """mcuf_dwconv2d_s8_scratch_size: three zero-point-padded input rows for a padded depthwise 3x3."""
    padded = any((p["pad_top"], p["pad_left"], p["pad_bottom"], p["pad_right"]))
    if padded and p["C"] == p["group"] and p["kh"] == p["kw"] == 3:
        return 3 * (p["W"] + p["pad_left"] + p["pad_right"])
    return 0


def dwconv2d_s8_sub_byte_scratch_size(p: Params) -> int:
    """mcuf_dwconv2d_s8w4/_s8w2_scratch_size: one channel's unpacked taps (C/group * kh * kw bytes) ahead of
    mcuf_dwconv2d_s8's scratch."""
    return p["C"] // p["group"] * p["kh"] * p["kw"] + dwconv2d_s8_scratch_size(p)


# kernel -> (its scratch size, its least scratch) from the call's params; the kernels without a banded
# mode need their full size.
_SIZES: dict[str, tuple[Callable[[Params], int], Callable[[Params], int]]] = {
    "mcuf_conv2d_f32": (lambda p: conv2d_scratch_size(p, 4), lambda p: conv2d_min_scratch_size(p, 4)),
    "mcuf_conv2d_f16": (lambda p: conv2d_scratch_size(p, 2), lambda p: conv2d_min_scratch_size(p, 2)),
    "mcuf_conv2d_f32_3x3": (conv2d_f32_3x3_scratch_size, conv2d_f32_3x3_min_scratch_size),
    "mcuf_conv2d_s8": (conv2d_s8_scratch_size, conv2d_s8_scratch_size),
    "mcuf_conv2d_s8w4": (conv2d_s8_scratch_size, conv2d_s8_scratch_size),
    "mcuf_conv2d_s8w2": (conv2d_s8_scratch_size, conv2d_s8_scratch_size),
    "mcuf_dwconv2d_s8": (dwconv2d_s8_scratch_size, dwconv2d_s8_scratch_size),
    "mcuf_dwconv2d_s8w4": (dwconv2d_s8_sub_byte_scratch_size, dwconv2d_s8_sub_byte_scratch_size),
    "mcuf_dwconv2d_s8w2": (dwconv2d_s8_sub_byte_scratch_size, dwconv2d_s8_sub_byte_scratch_size),
}

KERNELS_WITH_SCRATCH = tuple(sorted(_SIZES))


def _entry(func: str) -> tuple[Callable[[Params], int], Callable[[Params], int]]:
    try:
        return _SIZES[func]
    except KeyError:
        raise McufError(f"no scratch size known for kernel {func} (add its mirror to mcuforge.codegen.scratch)") from None


def scratch_size(func: str, params: Params) -> int:
    """Bytes of scratch kernel `func` uses at full speed with these params (its C `_scratch_size`)."""
    return _entry(func)[0](params)


def min_scratch_size(func: str, params: Params) -> int:
    """The least scratch kernel `func` accepts (its C `_min_scratch_size`; the full size when it has none)."""
    return _entry(func)[1](params)
