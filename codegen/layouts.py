"""Weight layouts of the int8 kernels: ONNX weight arrays -> the byte order each C kernel reads.

Presentation of values the quantizer already computed (no arithmetic on them): blocks of 4 output
channels interleaved per k step, so a kernel loads the 4 weights it multiplies by one input value
from consecutive bytes; sub-byte widths pack their fields into those bytes (low bits first).
"""
from __future__ import annotations

import numpy as np

from mcuforge.core.errors import McufError

CONV_OC_BLOCK = 4  # output channels interleaved per block in the packed conv weight layout


def pack_conv_weights_s8(w: np.ndarray) -> np.ndarray:
    """ONNX conv weights int8 [OC, C, kh, kw] -> the layout `mcuf_conv2d_s8` reads.

    Packed layout: ceil(OC/4) blocks, each [K][4] with K = C*kh*kw in (c, i, j) order and the 4
    output channels of the block interleaved: packed[b, k, t] = w[4b + t, k]; the missing channels
    of a last, partial block are zero. Size 4 * ceil(OC/4) * K bytes (`mcuf_conv2d_s8_weight_size`).
    """
    w = np.asarray(w, dtype=np.int8)
    oc = w.shape[0]
    k = int(np.prod(w.shape[1:]))
    blocks = -(-oc // CONV_OC_BLOCK)
    padded = np.zeros((blocks * CONV_OC_BLOCK, k), np.int8)
    padded[:oc] = w.reshape(oc, k)
    return np.ascontiguousarray(padded.reshape(blocks, CONV_OC_BLOCK, k).transpose(0, 2, 1)).ravel()


def pack_fc_weights_s8(w: np.ndarray) -> np.ndarray:
    """Fully connected weights int8 [Out, In] (Gemm transB = 1 orientation) -> `mcuf_linear_s8_packed`'s layout.

    The same interleaving as `pack_conv_weights_s8` with K = In: ceil(Out/4) blocks of [In][4],
    packed[b, i, t] = w[4b + t, i], tail zero-padded (`mcuf_linear_s8_packed_weight_size` bytes).
    """
    w = np.asarray(w, dtype=np.int8)
    if w.ndim != 2:
        raise McufError(f"fully connected weights must be 2-D [Out, In], got shape {w.shape}")
    return pack_conv_weights_s8(w)


_SUB_BYTE_RANGE = {4: (-8, 7), 2: (-2, 1)}


def _pack_sub_byte(w: np.ndarray, bits: int) -> np.ndarray:
    """[OC, ...] signed `bits`-wide integers -> the packed block layout of mcuf_conv2d_s8w4 / _s8w2.

    Blocks of 4 output channels as in `pack_conv_weights_s8`; per k step the 4 channels' fields share
    4 * bits / 8 bytes, channel t at bit offset (t * bits) % 8 of byte (t * bits) // 8 (low bits first).
    """
    lo, hi = _SUB_BYTE_RANGE[bits]
    w = np.asarray(w)
    if w.size and (w.min() < lo or w.max() > hi):
        raise McufError(f"{bits}-bit weights must lie in [{lo}, {hi}], got [{int(w.min())}, {int(w.max())}]")
    blocks = pack_conv_weights_s8(w.astype(np.int8)).reshape(-1, CONV_OC_BLOCK)  # [blocks*K, 4]
    fields = blocks.astype(np.int64) & ((1 << bits) - 1)  # two's complement fields
    per_byte = 8 // bits
    fields = fields.reshape(blocks.shape[0], CONV_OC_BLOCK // per_byte, per_byte)
    shifts = np.arange(per_byte, dtype=np.int64) * bits
    return (fields << shifts).sum(axis=2).astype(np.uint8).ravel()


def pack_conv_weights_s4(w: np.ndarray) -> np.ndarray:
    """Conv weights with values in [-8, 7] ([OC, C, kh, kw], any int dtype) -> mcuf_conv2d_s8w4's bytes."""
    return _pack_sub_byte(w, 4)


def pack_conv_weights_s2(w: np.ndarray) -> np.ndarray:
    """Conv weights with values in [-2, 1] ([OC, C, kh, kw], any int dtype) -> mcuf_conv2d_s8w2's bytes."""
    return _pack_sub_byte(w, 2)


def pack_fc_weights_s4(w: np.ndarray) -> np.ndarray:
    """Fully connected weights [Out, In] in [-8, 7] -> mcuf_linear_s8w4's bytes."""
    if np.asarray(w).ndim != 2:
        raise McufError(f"fully connected weights must be 2-D [Out, In], got shape {np.asarray(w).shape}")
    return _pack_sub_byte(w, 4)


def pack_fc_weights_s2(w: np.ndarray) -> np.ndarray:
    """Fully connected weights [Out, In] in [-2, 1] -> mcuf_linear_s8w2's bytes."""
    if np.asarray(w).ndim != 2:
        raise McufError(f"fully connected weights must be 2-D [Out, In], got shape {np.asarray(w).shape}")
    return _pack_sub_byte(w, 2)


def _pack_dw_sub_byte(w: np.ndarray, bits: int) -> np.ndarray:
    """[OC, C/group, kh, kw] signed `bits`-wide integers -> mcuf_dwconv2d_s8w4 / _s8w2's bytes.

    No channel blocking: the OC * C/group * kh * kw values in ONNX order (oc, c, i, j) form one stream
    of two's complement fields, field k at bit offset (k * bits) % 8 of byte (k * bits) // 8 (low bits
    first), the last byte zero-padded. Size ceil(w.size * bits / 8) bytes (`mcuf_dwconv2d_s8w4_weight_size`).
    """
    lo, hi = _SUB_BYTE_RANGE[bits]
    w = np.asarray(w)
    if w.size and (w.min() < lo or w.max() > hi):
        raise McufError(f"{bits}-bit weights must lie in [{lo}, {hi}], got [{int(w.min())}, {int(w.max())}]")
    per_byte = 8 // bits
    flat = w.astype(np.int64).ravel() & ((1 << bits) - 1)
    fields = np.zeros(-(-flat.size // per_byte) * per_byte, np.int64)
    fields[:flat.size] = flat
    shifts = np.arange(per_byte, dtype=np.int64) * bits
    return (fields.reshape(-1, per_byte) << shifts).sum(axis=1).astype(np.uint8)


def pack_dwconv_weights_s4(w: np.ndarray) -> np.ndarray:
    """Depthwise / grouped conv weights in [-8, 7] ([OC, C/group, kh, kw], any int dtype) -> mcuf_dwconv2d_s8w4's bytes
    (two fields a byte, see `_pack_dw_sub_byte`)."""
    return _pack_dw_sub_byte(w, 4)


def pack_dwconv_weights_s2(w: np.ndarray) -> np.ndarray:
    """Depthwise / grouped conv weights in [-2, 1] ([OC, C/group, kh, kw], any int dtype) -> mcuf_dwconv2d_s8w2's bytes
    (four fields a byte, see `_pack_dw_sub_byte`)."""
    return _pack_dw_sub_byte(w, 2)


def unpack_dwconv_weights(packed: np.ndarray, bits: int, shape: tuple[int, ...]) -> np.ndarray:
    """Inverse of `pack_dwconv_weights_s4` / `_s2` (bits 4 / 2): the int8 values of `shape` (for tests)."""
    per_byte = 8 // bits
    n = int(np.prod(shape))
    b = np.asarray(packed, np.uint8).astype(np.int64)
    fields = ((b[:, None] >> (np.arange(per_byte) * bits)) & ((1 << bits) - 1)).ravel()[:n]
    vals = np.where(fields >= 1 << (bits - 1), fields - (1 << bits), fields)
    return vals.astype(np.int8).reshape(shape)
