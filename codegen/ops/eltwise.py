"""Add, Mul, standalone activations, Softmax, Transpose, Concat, Pad."""
from __future__ import annotations

import numpy as np

from mcuforge.core.errors import McufError
from mcuforge.core.ir import Node, activation_of

from mcuforge.codegen.context import LowerCtx, node_comment, resolver
from mcuforge.codegen.kernels import has_kernel
from mcuforge.codegen.program import Arg, Step
from mcuforge.codegen.ops.common import (activation_params, float_activation_steps, int8_epilogue, int8_output, lut_step,
                                         n_elements, target_variant)


def _operand(node: Node, ctx: LowerCtx, t: str) -> tuple[Arg, tuple[str, ...]]:
    """A buffer argument for an activation, or a flash constant for a constant operand."""
    c = ctx.const(t)
    if c is None:
        return Arg("buf", t), (t,)
    if ctx.is_int8(node):
        q = ctx.quant.qconstants.get(t)
        if q is None:
            raise McufError(f"node '{node.name}': constant operand '{t}' was not quantized")
        return Arg("const", ctx.add_const(f"{node.name}_{t}", "int8_t", np.asarray(q, np.int8),
                                          f'node "{node.name}" constant operand {list(c.shape)} int8')), ()
    return Arg("const", ctx.float_const(node, f"{node.name}_{t}", np.asarray(c), f'node "{node.name}" constant operand {list(c.shape)}')), ()


def _bcast_kind(big: tuple[int, ...], small: tuple[int, ...]) -> str | None:
    """How `small` broadcasts onto `big` in the int8 kernels' terms, or None if it doesn't fit them."""
    if tuple(small) == tuple(big):
        return "MCUF_BCAST_NONE"
    n_small = int(np.prod(small, dtype=np.int64)) if small else 1
    if n_small == 1:
        return "MCUF_BCAST_SCALAR"
    # [C,1,1] / [1,C,1,1] against [1,C,H,W]
    s = (1,) * (len(big) - len(small)) + tuple(small)
    if len(big) == 4 and s[0] == 1 and s[1] == big[1] and s[2] == 1 and s[3] == 1:
        return "MCUF_BCAST_CHANNEL"
    return None


@resolver("Add", "Mul")
def add_mul(node: Node, ctx: LowerCtx) -> list[Step]:
    a, b = node.inputs[0], node.inputs[1]
    y = node.outputs[0]
    ys = ctx.shape(y)
    sa, sb = ctx.shape(a) if ctx.const(a) is None else ctx.const(a).shape, ctx.shape(b) if ctx.const(b) is None else ctx.const(b).shape
    if tuple(sa) != tuple(ys):  # put the full-size operand first; both ops commute
        a, b, sa, sb = b, a, sb, sa
    comment = node_comment(node, ctx)
    if ctx.is_int8(node):
        return _add_mul_s8(node, ctx, a, b, sa, sb, y, comment)
    func = f"mcuf_{node.op.lower()}_{ctx.sfx(node)}"
    if not has_kernel(func):
        raise McufError(f"node '{node.name}' ({node.op}): no {ctx.prec(node).activations} kernel available")
    from mcuforge.codegen.ops.broadcast import broadcast_params

    arg_a, r_a = _operand(node, ctx, a)
    arg_b, r_b = _operand(node, ctx, b)
    st = Step(node=node.name, op=node.op, comment=comment, func=func, params_type="mcuf_binary_params",
              params=broadcast_params(ys, sa, sb, f"node '{node.name}' ({node.op})"), args=(Arg("params"), arg_a, arg_b, Arg("buf", y)),
              reads=r_a + r_b, writes=(y,), macs=0)
    return [st, *float_activation_steps(node, ctx, y)]


def _add_mul_s8(node, ctx, a, b, sa, sb, y, comment) -> list[Step]:
    bc = _bcast_kind(tuple(sa), tuple(sb))
    if bc is None:
        raise McufError(f"node '{node.name}' ({node.op}): int8 broadcasting of {list(sb)} onto {list(sa)} is not supported")
    lq = ctx.layer_quant(node)
    dst, (lo, hi) = int8_output(node, ctx)
    ys = ctx.shape(y)
    C = ys[1] if len(ys) == 4 else 1
    HW = n_elements(ctx, y) // C
    if node.op == "Add":
        # the quantizer's "a"/"b" follow the node's input order; operands may have been swapped above
        ka, kb = ("a", "b") if a == node.inputs[0] else ("b", "a")
        ma, mb, sh = int(lq.requant[ka].multiplier), int(lq.requant[kb].multiplier), int(lq.requant["a"].shift)
    else:
        ma, sh, mb = int(lq.requant["out"].multiplier), int(lq.requant["out"].shift), 0
    arg_a, r_a = _operand(node, ctx, a)
    arg_b, r_b = _operand(node, ctx, b)
    st = Step(node=node.name, op=node.op, comment=comment, func=f"mcuf_{node.op.lower()}_s8",
              params_type="mcuf_binary_s8_params",
              params={"C": C, "HW": HW, "b_bcast": bc, "a_zp": ctx.zp(a), "b_zp": ctx.zp(b), "out_zp": ctx.zp(dst),
                      "a_mult": ma, "b_mult": mb, "shift": sh, "act_min": lo, "act_max": hi},
              args=(Arg("params"), arg_a, arg_b, Arg("buf", dst)), reads=r_a + r_b, writes=(dst,))
    return [st, *int8_epilogue(node, ctx, dst)]


@resolver("Relu", "Clip", "LeakyRelu", "Sigmoid", "HardSigmoid", "HardSwish")
def activation(node: Node, ctx: LowerCtx) -> list[Step]:
    x, y = node.inputs[0], node.outputs[0]
    comment = node_comment(node, ctx)
    n = n_elements(ctx, y)
    if ctx.is_int8(node):
        lq = ctx.layer_quant(node)
        if lq.lut is None:
            raise McufError(f"node '{node.name}' ({node.op}): the quantizer gave no lookup table")
        return [lut_step(node, ctx, x, y, lq.lut)]
    if node.op == "Relu":
        return [Step(node=node.name, op="Relu", comment=comment, func=target_variant(ctx, f"mcuf_relu_{ctx.sfx(node)}"),
                     args=(Arg("lit", str(n)), Arg("buf", x), Arg("buf", y)), reads=(x,), writes=(y,))]
    func = f"mcuf_act_{ctx.sfx(node)}"
    if not has_kernel(func):
        raise McufError(f"node '{node.name}' ({node.op}): no {ctx.prec(node).activations} kernel available")
    return [Step(node=node.name, op=node.op, comment=comment, func=func, params_type="mcuf_act_params",
                 params=activation_params(activation_of(node)),
                 args=(Arg("params"), Arg("lit", str(n)), Arg("buf", x), Arg("buf", y)), reads=(x,), writes=(y,))]


@resolver("Softmax")
def softmax(node: Node, ctx: LowerCtx) -> list[Step]:
    x, y = node.inputs[0], node.outputs[0]
    shape = ctx.shape(x)
    axis = int(node.attrs["axis"])
    params = {"outer": int(np.prod(shape[:axis], dtype=np.int64)), "n": int(shape[axis]),
              "inner": int(np.prod(shape[axis + 1:], dtype=np.int64))}
    comment = node_comment(node, ctx, f"axis {axis}")
    if not ctx.is_int8(node):
        return [Step(node=node.name, op="Softmax", comment=comment, func=f"mcuf_softmax_{ctx.sfx(node)}",
                     params_type="mcuf_softmax_params", params=params,
                     args=(Arg("params"), Arg("buf", x), Arg("buf", y)), reads=(x,), writes=(y,))]
    # int8: like onnxruntime's QDQ graph, dequantize, take the float softmax, quantize.
    n = n_elements(ctx, x)
    fx, fy = ctx.add_tensor(f"{x}__softmax_in", shape, "float"), ctx.add_tensor(f"{y}__softmax_out", shape, "float")
    return [
        Step(node=node.name, op="Softmax", comment=comment + ("int8 -> float -> int8",), func="mcuf_dequantize_s8_f32",
             params_type="mcuf_qparams", params={"scale": ctx.scale(x), "zero_point": ctx.zp(x)},
             args=(Arg("params"), Arg("lit", str(n)), Arg("buf", x), Arg("buf", fx)), reads=(x,), writes=(fx,)),
        Step(node=node.name, op="Softmax", comment=("float softmax",), func="mcuf_softmax_f32",
             params_type="mcuf_softmax_params", params=params,
             args=(Arg("params"), Arg("buf", fx), Arg("buf", fy)), reads=(fx,), writes=(fy,)),
        Step(node=node.name, op="Softmax", comment=("quantize the probabilities",), func="mcuf_quantize_f32_s8",
             params_type="mcuf_qparams", params={"scale": ctx.scale(y), "zero_point": ctx.zp(y)},
             args=(Arg("params"), Arg("lit", str(n)), Arg("buf", fy), Arg("buf", y)), reads=(fy,), writes=(y,)),
    ]


def _same_qparams(ctx: LowerCtx, a: str, b: str) -> bool:
    return ctx.scale(a) == ctx.scale(b) and ctx.zp(a) == ctx.zp(b)


@resolver("Transpose")
def transpose(node: Node, ctx: LowerCtx) -> list[Step]:
    from mcuforge.codegen.ops.broadcast import transpose_params

    x, y = node.inputs[0], node.outputs[0]
    perm = tuple(node.attrs["perm"])
    if ctx.is_int8(node) and not _same_qparams(ctx, x, y):
        raise AssertionError(f"quantizer gave Transpose '{node.name}' different input/output parameters")
    return [Step(node=node.name, op="Transpose", comment=node_comment(node, ctx, f"perm {list(perm)}"),
                 func=f"mcuf_copy4d_{ctx.sfx(node)}", params_type="mcuf_copy4d_params",
                 params=transpose_params(ctx.shape(x), perm, f"node '{node.name}' (Transpose)"),
                 args=(Arg("params"), Arg("buf", x), Arg("buf", y)), reads=(x,), writes=(y,))]


@resolver("Concat")
def concat(node: Node, ctx: LowerCtx) -> list[Step]:
    from mcuforge.codegen.ops.broadcast import concat_params, contiguous_strides

    y = node.outputs[0]
    ys = ctx.shape(y)
    axis = int(node.attrs["axis"])
    out_strides = contiguous_strides(ys)
    steps, offset = [], 0
    comment = node_comment(node, ctx, f"axis {axis}")
    for t in node.inputs:
        ts = tuple(ctx.const(t).shape) if ctx.const(t) is not None else ctx.shape(t)
        if ctx.is_int8(node) and ctx.const(t) is None and not _same_qparams(ctx, t, y):
            raise McufError(f"node '{node.name}' (Concat): input '{t}' has other quantization parameters than the "
                            "output; int8 Concat with requantization is not supported yet")
        arg, reads = _operand(node, ctx, t)
        steps.append(Step(node=node.name, op="Concat", comment=comment if not steps else (f'input "{t}"',),
                          func=f"mcuf_copy4d_{ctx.sfx(node)}", params_type="mcuf_copy4d_params",
                          params=concat_params(ts, ys, axis, f"node '{node.name}' (Concat)"),
                          args=(Arg("params"), arg, Arg("buf", y, offset * out_strides[axis])),
                          reads=reads, writes=(y,)))
        offset += ts[axis]
    return steps


@resolver("Pad")
def pad(node: Node, ctx: LowerCtx) -> list[Step]:
    from mcuforge.codegen.ops.broadcast import RANK

    x, y = node.inputs[0], node.outputs[0]
    a = node.attrs
    if a["mode"] != "constant":
        raise McufError(f"node '{node.name}' (Pad): mode '{a['mode']}' is not supported; only 'constant'")
    shape = ctx.shape(x)
    rank = len(shape)
    if rank > RANK:
        raise McufError(f"node '{node.name}' (Pad): rank {rank} > {RANK}")
    lead = RANK - rank
    begin = [0] * lead + list(a["pads"][:rank])
    end = [0] * lead + list(a["pads"][rank:])
    value = float(a["value"])
    if ctx.is_int8(node):
        lq = ctx.layer_quant(node)
        value = float(lq.pad_value if lq.pad_value is not None else ctx.zp(x))
    return [Step(node=node.name, op="Pad", comment=node_comment(node, ctx, f"pads {list(a['pads'])} value {value:g}"),
                 func=f"mcuf_pad_{ctx.sfx(node)}", params_type="mcuf_pad_params",
                 params={"in_dims": [1] * lead + list(shape), "pad_begin": begin, "pad_end": end, "value": value},
                 args=(Arg("params"), Arg("buf", x), Arg("buf", y)), reads=(x,), writes=(y,))]
