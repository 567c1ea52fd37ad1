"""Gemm / MatMul: linear layers with constant weights, and products of two activations."""
from __future__ import annotations

import numpy as np

from toolchain.errors import McufError
from toolchain.ir import Node

from ..lower import LowerCtx, node_comment, resolver
from ..program import Arg, Step
from .common import clamp_of, float_activation_steps, layer_quant, lut_step, target_variant, zp


def _rows_cols(shape: tuple[int, ...]) -> tuple[int, int]:
    rows = int(np.prod(shape[:-1], dtype=np.int64)) if len(shape) > 1 else 1
    return rows, int(shape[-1])


@resolver("Gemm")
def gemm(node: Node, ctx: LowerCtx) -> list[Step]:
    a = node.attrs
    if ctx.const(node.inputs[1]) is None or a.get("transA", 0) or not a.get("transB", 0):
        raise McufError(f"node '{node.name}' (Gemm): only a constant weight is supported (the front end "
                        "normalises it to transB=1); this Gemm multiplies two activations")
    x, y = node.inputs[0], node.outputs[0]
    w = ctx.need_const(node, 1, "weight")
    rows, k = _rows_cols(ctx.shape(x))
    n_out = w.shape[0]
    if w.shape[1] != k:
        raise McufError(f"node '{node.name}' (Gemm): weight {list(w.shape)} does not match input {list(ctx.shape(x))}")
    macs = rows * k * n_out
    comment = node_comment(node, ctx, f"{k} -> {n_out}")
    if ctx.precision == "int8":
        return _fc_s8(node, ctx, rows, k, n_out, macs, comment)
    bias = ctx.const(node.inputs[2]) if len(node.inputs) > 2 and node.inputs[2] else np.zeros(n_out)
    wn = ctx.float_const(f"{node.name}_w", w, f'node "{node.name}" weight {list(w.shape)}')
    bn = ctx.float_const(f"{node.name}_b", np.broadcast_to(bias, (n_out,)), f'node "{node.name}" bias [{n_out}]')
    st = Step(node=node.name, op="Gemm", comment=comment, func=f"mcuf_linear_{ctx.sfx}", params_type="mcuf_linear_params",
              params={"batch": rows, "in": k, "out": n_out, "acc": "MCUF_ACC_F32", "accumulate_grad": 0},
              args=(Arg("params"), Arg("buf", x), Arg("const", wn), Arg("const", bn), Arg("buf", y)),
              reads=(x,), writes=(y,), macs=macs)
    return [st, *float_activation_steps(node, ctx, y)]


def _fc_s8(node: Node, ctx: LowerCtx, rows: int, k: int, n_out: int, macs: int, comment: tuple) -> list[Step]:
    from toolchain.requant import check_accumulator_range, fold_bias

    lq = layer_quant(ctx, node)
    qmodel = ctx.extra["qmodel"]
    x, y = node.inputs[0], node.outputs[0]
    wq = np.asarray(qmodel.qconstants[lq.weight], np.int8).reshape(n_out, k)
    bias = np.asarray(qmodel.qconstants[lq.bias], np.int64) if lq.bias else None
    folded = fold_bias(bias, wq, zp(ctx, x))
    check_accumulator_range(wq, folded)
    dst = lq.preact or y
    if dst != y:
        ctx.extra_shapes[dst] = ctx.shape(y)
    lo, hi = clamp_of(ctx, node) if lq.lut is None else (-128, 127)
    wn = ctx.add_const(f"{node.name}_w", "int8_t", wq, f'node "{node.name}" weight [{n_out}, {k}] int8')
    bn = ctx.add_const(f"{node.name}_b", "int32_t", folded.astype(np.int32), f'node "{node.name}" bias, input zero point folded in')
    mult = ctx.add_const(f"{node.name}_mult", "int32_t", np.asarray(lq.requant["out"].multiplier, np.int32),
                         f'node "{node.name}" requantization multipliers (Q31)')
    shift = ctx.add_const(f"{node.name}_shift", "int32_t", np.asarray(lq.requant["out"].shift, np.int32),
                          f'node "{node.name}" requantization shifts')
    # The fc kernel subtracts no input zero point: it is folded into the bias above.
    st = Step(node=node.name, op="Gemm", comment=comment, func="mcuf_fc_s8", params_type="mcuf_fc_s8_params",
              params={"rows": rows, "in_features": k, "out_features": n_out, "out_zp": zp(ctx, dst),
                      "act_min": lo, "act_max": hi, "multiplier": mult, "shift": shift},
              args=(Arg("params"), Arg("buf", x), Arg("const", wn), Arg("const", bn), Arg("buf", dst)),
              reads=(x,), writes=(dst,), macs=macs)
    steps = [st]
    if lq.lut is not None:
        steps.append(lut_step(node, ctx, dst, y, lq.lut))
    return steps


@resolver("MatMul")
def matmul(node: Node, ctx: LowerCtx) -> list[Step]:
    a_t, b_t, y = node.inputs[0], node.inputs[1], node.outputs[0]
    if ctx.precision == "int8":
        raise McufError(f"node '{node.name}' (MatMul of two activations) has no int8 kernel yet; "
                        "compile with --precision fp32 or fp16")
    sa, sb = ctx.shape(a_t), ctx.shape(b_t)
    if any(d != 1 for d in (*sa[:-2], *sb[:-2])) or len(sa) < 1 or len(sb) < 2:
        raise McufError(f"node '{node.name}' (MatMul): batched products {list(sa)} x {list(sb)} are not supported")
    m = sa[-2] if len(sa) >= 2 else 1
    k, n = sb[-2], sb[-1]
    args = []
    reads = []
    for t in (a_t, b_t):
        c = ctx.const(t)
        if c is not None:
            args.append(Arg("const", ctx.float_const(f"{node.name}_{t}", c, f'node "{node.name}" operand {list(c.shape)}')))
        else:
            args.append(Arg("buf", t))
            reads.append(t)
    func = target_variant(ctx, f"mcuf_matmul_{ctx.sfx}")
    st = Step(node=node.name, op="MatMul", comment=node_comment(node, ctx, f"[{m},{k}] x [{k},{n}]"), func=func,
              params_type="mcuf_matmul_params",
              params={"M": m, "N": n, "K": k, "acc": "MCUF_ACC_F32", "accumulate": 0, "bias_per_row": 0},
              args=(Arg("params"), *args, Arg("lit", "NULL"), Arg("buf", y)), reads=tuple(reads), writes=(y,),
              macs=m * n * k)
    return [st, *float_activation_steps(node, ctx, y)]
