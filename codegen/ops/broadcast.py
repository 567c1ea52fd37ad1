"""Shape arithmetic for strided kernels: numpy broadcasting and permutations as rank-4 dims/strides."""
from __future__ import annotations

from mcuforge.core.errors import McufError

RANK = 4


def contiguous_strides(shape: tuple[int, ...]) -> list[int]:
    strides, acc = [], 1
    for d in reversed(shape):
        strides.append(acc)
        acc *= d
    return list(reversed(strides))


def _collapse(dims: list[int], strides: list[list[int]]) -> tuple[list[int], list[list[int]]]:
    """Drop size-1 dims and merge neighbours that stay contiguous for every operand."""
    keep = [i for i, d in enumerate(dims) if d != 1]
    dims = [dims[i] for i in keep]
    strides = [[s[i] for i in keep] for s in strides]
    i = len(dims) - 1
    while i > 0:
        if all(s[i - 1] == s[i] * dims[i] for s in strides):
            dims[i - 1] *= dims[i]
            for s in strides:
                s[i - 1] = s[i]
                del s[i]
            del dims[i]
        i -= 1
    return dims, strides


def to_rank4(dims: list[int], strides: list[list[int]], what: str) -> tuple[list[int], list[list[int]]]:
    dims, strides = _collapse(list(dims), [list(s) for s in strides])
    if len(dims) > RANK:
        raise McufError(f"{what}: needs {len(dims)} independent dimensions; the kernels take at most {RANK}")
    pad = RANK - len(dims)
    return [1] * pad + dims, [[0] * pad + s for s in strides]


def broadcast_params(out: tuple[int, ...], a: tuple[int, ...], b: tuple[int, ...], what: str = "broadcast") -> dict:
    """mcuf_binary_params for out = a (op) b with numpy broadcasting (strides 0 on broadcast dims)."""
    rank = len(out)

    def strides_of(s: tuple[int, ...]) -> list[int]:
        s = (1,) * (rank - len(s)) + tuple(s)
        cs = contiguous_strides(s)
        return [0 if d == 1 and o != 1 else st for d, o, st in zip(s, out, cs)]

    dims, (sa, sb) = to_rank4(list(out) or [1], [strides_of(a) or [0], strides_of(b) or [0]], what)
    return {"dims": dims, "a_stride": sa, "b_stride": sb}


def transpose_params(shape: tuple[int, ...], perm: tuple[int, ...], what: str = "transpose") -> dict:
    """mcuf_copy4d_params: out[i0..i3] = in[...] for out = in.transpose(perm)."""
    in_strides = contiguous_strides(shape)
    out_shape = [shape[p] for p in perm]
    src = [in_strides[p] for p in perm]
    dims, (s_in, s_out) = to_rank4(out_shape or [1], [src or [1], contiguous_strides(tuple(out_shape)) or [1]], what)
    return {"dims": dims, "in_stride": s_in, "out_stride": s_out}


def concat_params(in_shape: tuple[int, ...], out_shape: tuple[int, ...], axis: int, what: str = "concat") -> dict:
    """mcuf_copy4d_params copying one Concat input into its slot of the output (offset applied by the caller)."""
    dims, (s_in, s_out) = to_rank4(list(in_shape), [contiguous_strides(in_shape), contiguous_strides(out_shape)], what)
    return {"dims": dims, "in_stride": s_in, "out_stride": s_out}
