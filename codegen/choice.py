"""Kernel choices that more than one place must agree on, decided by plain predicates."""
from __future__ import annotations

from mcuforge.core.targets import Target


def direct_3x3(kh: int, kw: int, sh: int, sw: int, pads: tuple[int, int, int, int], sfx: str, target: Target) -> bool:
    """mcuf_conv2d_f32_3x3 applies: FP32, 3x3, stride 1, every pad 0..2, on a target without a vector
    unit. With RVV, im2col + the vector matmul is 3-9x faster (mcuforge bench kernels --target
    rv32-zvfh: 484,693 against 4,156,911 instructions on the ResNet-8 layer)."""
    return (sfx == "f32" and kh == kw == 3 and sh == sw == 1 and all(0 <= p <= 2 for p in pads)
            and not target.vector_bits)


def maxpool_2x2_fast(attrs, xs: tuple[int, ...], ys: tuple[int, ...], n_outputs: int, sfx: str) -> bool:
    """mcuf_maxpool2d_f32_2x2 applies to a MaxPool: FP32, 2x2 stride 2, no padding, floor sizes."""
    return (sfx == "f32" and tuple(attrs["kernel_shape"]) == (2, 2) and tuple(attrs["strides"]) == (2, 2)
            and not any(attrs["pads"]) and len(xs) == 4 and tuple(ys[2:]) == (xs[2] // 2, xs[3] // 2)
            and n_outputs == 1)
