"""Gemm / MatMul: linear layers with constant weights, and products of two activations."""
from __future__ import annotations

import numpy as np

from mcuforge.core.errors import McufError
from mcuforge.core.ir import Node

from mcuforge.codegen.context import LowerCtx, node_comment, resolver
from mcuforge.codegen.layouts import pack_fc_weights_s2, pack_fc_weights_s4
from mcuforge.codegen.program import Arg, Step
from mcuforge.codegen.ops.common import float_activation_steps, int8_epilogue, int8_output, target_variant


def _rows_cols(shape: tuple[int, ...]) -> tuple[int, int]:
    rows = int(np.prod(shape[:-1], dtype=np.int64)) if len(shape) > 1 else 1
    return rows, int(shape[-1])


@resolver("Gemm")
def gemm(node: Node, ctx: LowerCtx) -> list[Step]:
    a = node.attrs
    if ctx.const(node.inputs[1]) is None:
        raise McufError(f"node '{node.name}' (Gemm): the weight B must be a constant; this Gemm multiplies "
                        "two activations (use MatMul)")
    if a.get("transA", 0) or not a.get("transB", 0):
        return _gemm_general(node, ctx)
    x, y = node.inputs[0], node.outputs[0]
    w = ctx.need_const(node, 1, "weight")
    rows, k = _rows_cols(ctx.shape(x))
    n_out = w.shape[0]
    if w.shape[1] != k:
        raise McufError(f"node '{node.name}' (Gemm): weight {list(w.shape)} does not match input {list(ctx.shape(x))}")
    macs = rows * k * n_out
    comment = node_comment(node, ctx, f"{k} -> {n_out}")
    if ctx.is_int8(node):
        return _linear_s8(node, ctx, rows, k, n_out, macs, comment)
    bias = ctx.const(node.inputs[2]) if len(node.inputs) > 2 and node.inputs[2] else np.zeros(n_out)
    sfx = ctx.sfx(node)
    wn = ctx.float_const(node, f"{node.name}_w", w, f'node "{node.name}" weight {list(w.shape)}')
    if bias.ndim == 2 and bias.shape[0] > 1:
        # A bias that differs per row: copy it into the output, then accumulate the product onto it.
        cn = ctx.float_const(node, f"{node.name}_c", bias, f'node "{node.name}" bias {list(bias.shape)}')
        copy = Step(node=node.name, op="Gemm", comment=comment + ("the [M, N] bias first",),
                    func=f"mcuf_copy4d_{sfx}", params_type="mcuf_copy4d_params",
                    params={"dims": [1, 1, 1, bias.size], "in_stride": [0, 0, 0, 1], "out_stride": [0, 0, 0, 1]},
                    args=(Arg("params"), Arg("const", cn), Arg("buf", y)), writes=(y,))
        mm = Step(node=node.name, op="Gemm", comment=("then y += x . W^T",), func=target_variant(ctx, f"mcuf_matmul_nt_{sfx}"),
                  params_type="mcuf_matmul_params",
                  params={"M": rows, "N": n_out, "K": k, "acc": "MCUF_ACC_F32", "accumulate": 1, "bias_per_row": 0},
                  args=(Arg("params"), Arg("buf", x), Arg("const", wn), Arg("lit", "NULL"), Arg("buf", y)),
                  reads=(x, y), writes=(y,), macs=macs)
        return [copy, mm, *float_activation_steps(node, ctx, y)]
    bn = ctx.float_const(node, f"{node.name}_b", np.broadcast_to(bias, (n_out,)), f'node "{node.name}" bias [{n_out}]')
    st = Step(node=node.name, op="Gemm", comment=comment, func=f"mcuf_linear_{sfx}", params_type="mcuf_linear_params",
              params={"batch": rows, "in_features": k, "out_features": n_out, "acc": "MCUF_ACC_F32",
                      "accumulate_grad": 0},
              args=(Arg("params"), Arg("buf", x), Arg("const", wn), Arg("const", bn), Arg("buf", y)),
              reads=(x,), writes=(y,), macs=macs)
    return [st, *float_activation_steps(node, ctx, y)]


def _gemm_general(node: Node, ctx: LowerCtx) -> list[Step]:
    """Gemm with a transposed activation (transA=1): C = alpha * A^T . B' + beta * C via matmul_tn,
    B' = B or B^T folded offline (float precisions only)."""
    if ctx.is_int8(node):
        raise McufError(f"node '{node.name}' (Gemm with transA=1) has no int8 kernel; compile it at fp32 or fp16 "
                        "(--precision, or --allocation for this layer)")
    a = node.attrs
    x, y = node.inputs[0], node.outputs[0]
    k, m = ctx.shape(x)
    b = ctx.need_const(node, 1, "weight").astype(np.float32)
    b = (b.T if a.get("transB", 0) else b) * np.float32(a.get("alpha", 1.0))
    n = b.shape[1]
    c = ctx.const(node.inputs[2]) if len(node.inputs) > 2 and node.inputs[2] else None
    bias = None if c is None else np.broadcast_to(np.float32(a.get("beta", 1.0)) * c.astype(np.float32), (m, n))
    if bias is not None and not np.all(bias == bias[:1]):
        raise McufError(f"node '{node.name}' (Gemm): a bias that varies across rows is not supported")
    wn = ctx.float_const(node, f"{node.name}_w", b, f'node "{node.name}" weight [{b.shape[0]}, {n}] (alpha folded)')
    args = [Arg("params"), Arg("buf", x), Arg("const", wn)]
    if bias is not None:
        args.append(Arg("const", ctx.float_const(node, f"{node.name}_b", bias[0], f'node "{node.name}" bias [{n}] (beta folded)')))
    else:
        args.append(Arg("lit", "NULL"))
    st = Step(node=node.name, op="Gemm", comment=node_comment(node, ctx, f"transA: [{k},{m}]^T x [{k},{n}]"),
              func=target_variant(ctx, f"mcuf_matmul_tn_{ctx.sfx(node)}"), params_type="mcuf_matmul_params",
              params={"M": m, "N": n, "K": k, "acc": "MCUF_ACC_F32", "accumulate": 0, "bias_per_row": 0},
              args=(*args, Arg("buf", y)), reads=(x,), writes=(y,), macs=m * n * k)
    return [st, *float_activation_steps(node, ctx, y)]


def _linear_s8(node: Node, ctx: LowerCtx, rows: int, k: int, n_out: int, macs: int, comment: tuple) -> list[Step]:
    lq = ctx.layer_quant(node)
    x = node.inputs[0]
    wq = np.asarray(ctx.quant.qconstants[lq.weight], np.int8).reshape(n_out, k)
    dst, (lo, hi) = int8_output(node, ctx)
    fmt = ctx.prec(node).weights
    if fmt == "int8":
        func = "mcuf_linear_s8"
        wn = ctx.add_const(f"{node.name}_w", "int8_t", wq, f'node "{node.name}" weight [{n_out}, {k}] int8')
    else:
        func, pack = {"int4": ("mcuf_linear_s8w4", pack_fc_weights_s4), "int2": ("mcuf_linear_s8w2", pack_fc_weights_s2)}[fmt]
        wn = ctx.add_const(f"{node.name}_w", "uint8_t", pack(wq),
                           f'node "{node.name}" weight [{n_out}, {k}] {fmt}, packed 4 outputs a block')
    bn = ctx.add_const(f"{node.name}_b", "int32_t", np.asarray(lq.acc_bias, np.int32),
                       f'node "{node.name}" bias, input zero point folded in')
    mult = ctx.add_const(f"{node.name}_mult", "int32_t", np.asarray(lq.requant["out"].multiplier, np.int32),
                         f'node "{node.name}" requantization multipliers (Q31)')
    shift = ctx.add_const(f"{node.name}_shift", "int32_t", np.asarray(lq.requant["out"].shift, np.int32),
                          f'node "{node.name}" requantization shifts')
    # The int8 linear kernel subtracts no input zero point: the quantizer folded it into the bias.
    st = Step(node=node.name, op="Gemm", comment=comment, func=func, params_type="mcuf_linear_s8_params",
              params={"batch": rows, "in_features": k, "out_features": n_out, "out_zp": ctx.zp(dst),
                      "act_min": lo, "act_max": hi, "multiplier": mult, "shift": shift},
              args=(Arg("params"), Arg("buf", x), Arg("const", wn), Arg("const", bn), Arg("buf", dst)),
              reads=(x,), writes=(dst,), macs=macs)
    return [st, *int8_epilogue(node, ctx, dst)]


@resolver("MatMul")
def matmul(node: Node, ctx: LowerCtx) -> list[Step]:
    a_t, b_t, y = node.inputs[0], node.inputs[1], node.outputs[0]
    if ctx.is_int8(node):
        raise McufError(f"node '{node.name}' (MatMul of two activations) has no int8 kernel yet; "
                        "compile it at fp32 or fp16 (--precision, or --allocation for this layer)")
    sa = ctx.const(a_t).shape if ctx.const(a_t) is not None else ctx.shape(a_t)
    sb = ctx.const(b_t).shape if ctx.const(b_t) is not None else ctx.shape(b_t)
    # numpy matmul semantics: a 1-D operand is a row (A) or column (B) vector, dropped from the result.
    a2 = (1, *sa) if len(sa) == 1 else tuple(sa)
    b2 = (*sb, 1) if len(sb) == 1 else tuple(sb)
    m, k = a2[-2], a2[-1]
    n = b2[-1]
    if b2[-2] != k:
        raise McufError(f"node '{node.name}' (MatMul): inner dimensions differ: {list(sa)} x {list(sb)}")
    batch = np.broadcast_shapes(a2[:-2], b2[:-2])
    operands = []
    for t in (a_t, b_t):
        c = ctx.const(t)
        if c is not None:
            operands.append(("const", ctx.float_const(node, f"{node.name}_{t}", c, f'node "{node.name}" operand {list(c.shape)}')))
        else:
            operands.append(("buf", t))
    reads = tuple(v for kind, v in operands if kind == "buf")
    func = target_variant(ctx, f"mcuf_matmul_{ctx.sfx(node)}")
    params = {"M": m, "N": n, "K": k, "acc": "MCUF_ACC_F32", "accumulate": 0, "bias_per_row": 0}
    comment = node_comment(node, ctx, f"[{m},{k}] x [{k},{n}]" + (f" for batch {list(batch)}" if batch else ""))
    steps = []
    # Broadcast batch dimensions: one kernel call per output matrix, operands at element offsets
    # worked out here (the generated code does no index arithmetic).
    idx_a = np.broadcast_to(np.arange(int(np.prod(a2[:-2], dtype=np.int64))).reshape(a2[:-2]), batch).reshape(-1)
    idx_b = np.broadcast_to(np.arange(int(np.prod(b2[:-2], dtype=np.int64))).reshape(b2[:-2]), batch).reshape(-1)
    for i, (ia, ib) in enumerate(zip(idx_a, idx_b)):
        arg_a = Arg(operands[0][0], operands[0][1], int(ia) * m * k)
        arg_b = Arg(operands[1][0], operands[1][1], int(ib) * k * n)
        steps.append(Step(node=node.name, op="MatMul", comment=comment if i == 0 else (f"batch {i}",), func=func,
                          params_type="mcuf_matmul_params", params=params,
                          args=(Arg("params"), arg_a, arg_b, Arg("lit", "NULL"), Arg("buf", y, i * m * n)),
                          reads=reads, writes=(y,), macs=m * n * k))
    return [*steps, *float_activation_steps(node, ctx, y)]
