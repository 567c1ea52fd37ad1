"""Conv: im2col + matmul or direct 3x3 (group 1), pointwise (1x1), depthwise / grouped direct; int8 conv
(mcuf_conv2d_s8) and grouped / depthwise conv (mcuf_dwconv2d_s8)."""
from __future__ import annotations

import numpy as np

from mcuforge.core.errors import McufError
from mcuforge.core.ir import Node

from mcuforge.codegen.choice import direct_3x3
from mcuforge.codegen.context import LowerCtx, node_comment, resolver
from mcuforge.codegen.layouts import (pack_conv_weights_s2, pack_conv_weights_s4, pack_conv_weights_s8,
                                      pack_dwconv_weights_s2, pack_dwconv_weights_s4)
from mcuforge.codegen.program import Arg, Step
from mcuforge.codegen.scratch import min_scratch_size, scratch_size
from mcuforge.codegen.ops.common import float_activation_steps, int8_epilogue, int8_output, target_variant

_ELEM = {"float": 4, "mcuf_f16": 2}


def _geometry(node: Node, ctx: LowerCtx) -> dict:
    x, w_name = node.inputs[0], node.inputs[1]
    w = ctx.need_const(node, 1, "weight")
    xs, ys = ctx.shape(x), ctx.shape(node.outputs[0])
    if len(xs) != 4 or xs[0] != 1:
        raise McufError(f"node '{node.name}' (Conv): only 2-D convolution with batch 1 is supported; input is {list(xs)}")
    a = node.attrs
    if tuple(a.get("dilations", (1, 1))) != (1, 1):
        raise McufError(f"node '{node.name}' (Conv): attribute 'dilations' = {a['dilations']}: only 1 is supported")
    pt, pl, pb, pr = a["pads"]
    return dict(C=xs[1], H=xs[2], W=xs[3], OC=ys[1], OH=ys[2], OW=ys[3], kh=w.shape[2], kw=w.shape[3],
                sh=a["strides"][0], sw=a["strides"][1], pt=pt, pl=pl, pb=pb, pr=pr, group=int(a.get("group", 1)), w=w)


def _detail(g: dict) -> str:
    return (f"{g['kh']}x{g['kw']} stride {g['sh']},{g['sw']} pads {g['pt']},{g['pl']},{g['pb']},{g['pr']}"
            + (f" group {g['group']}" if g["group"] != 1 else ""))


@resolver("Conv")
def conv(node: Node, ctx: LowerCtx) -> list[Step]:
    g = _geometry(node, ctx)
    if ctx.is_int8(node):
        return _conv_s8(node, ctx, g)
    x, y = node.inputs[0], node.outputs[0]
    w = g["w"]
    bias = ctx.const(node.inputs[2]) if len(node.inputs) > 2 and node.inputs[2] else None
    macs = g["OC"] * g["OH"] * g["OW"] * g["C"] // g["group"] * g["kh"] * g["kw"]
    comment = node_comment(node, ctx, _detail(g))
    wn = ctx.float_const(node, f"{node.name}_w", w, f'node "{node.name}" weight {list(w.shape)}')
    bn = ctx.float_const(node, f"{node.name}_b", bias if bias is not None else np.zeros(g["OC"]), f'node "{node.name}" bias [{g["OC"]}]')
    sfx = ctx.sfx(node)
    acc = "MCUF_ACC_F32"  # FP16 models accumulate in FP32: inference accuracy beats a few % speed
    if g["group"] == 1 and _direct_3x3(g, node, ctx):
        return _conv_3x3_f32(node, ctx, g, wn, bn, comment, macs)
    if g["group"] == 1:
        pointwise = g["kh"] == g["kw"] == 1 and g["sh"] == g["sw"] == 1 and not any((g["pt"], g["pl"], g["pb"], g["pr"]))
        if pointwise:
            st = Step(node=node.name, op="Conv", comment=comment, func=f"mcuf_pointwise_{sfx}",
                      params_type="mcuf_pointwise_params",
                      params={"C": g["C"], "OC": g["OC"], "HW": g["H"] * g["W"], "acc": acc, "accumulate_grad": 0},
                      args=(Arg("params"), Arg("buf", x), Arg("const", wn), Arg("const", bn), Arg("buf", y)),
                      reads=(x,), writes=(y,), macs=macs)
        else:
            func = f"mcuf_conv2d_{sfx}"
            params = {"C": g["C"], "H": g["H"], "W": g["W"], "OC": g["OC"], "kh": g["kh"], "kw": g["kw"],
                      "stride_h": g["sh"], "stride_w": g["sw"], "pad_top": g["pt"], "pad_left": g["pl"],
                      "OH": g["OH"], "OW": g["OW"], "acc": acc, "accumulate_grad": 0}
            # The whole im2col matrix, or bands down to one output row (the planner sizes it between);
            # wider bands help in whole rows: a row's columns and all OC channels' product.
            row = (g["C"] * g["kh"] * g["kw"] + g["OC"]) * g["OW"] * _ELEM[ctx.ctype(x)]
            st = Step(node=node.name, op="Conv", comment=comment, func=func, params_type="mcuf_conv2d_params",
                      params=params,
                      args=(Arg("params"), Arg("buf", x), Arg("const", wn), Arg("const", bn), Arg("buf", y),
                            Arg("scratch"), Arg("scratch_bytes")),
                      reads=(x,), writes=(y,), scratch_bytes=scratch_size(func, params),
                      scratch_min=min_scratch_size(func, params), scratch_quantum=row, macs=macs)
    elif g["group"] == g["C"] == g["OC"]:
        st = Step(node=node.name, op="Conv", comment=comment, func=target_variant(ctx, f"mcuf_dwconv2d_{sfx}"),
                  params_type="mcuf_dwconv2d_params",
                  params={"C": g["C"], "H": g["H"], "W": g["W"], "OH": g["OH"], "OW": g["OW"], "kh": g["kh"], "kw": g["kw"],
                          "stride_h": g["sh"], "stride_w": g["sw"], "pad_top": g["pt"], "pad_left": g["pl"],
                          "pad_bottom": g["pb"], "pad_right": g["pr"], "acc": acc, "accumulate_grad": 0},
                  args=(Arg("params"), Arg("buf", x), Arg("const", wn), Arg("const", bn), Arg("buf", y)),
                  reads=(x,), writes=(y,), macs=macs)
    else:
        st = Step(node=node.name, op="Conv", comment=comment, func=f"mcuf_gconv2d_{sfx}", params_type="mcuf_gconv2d_params",
                  params={"C": g["C"], "H": g["H"], "W": g["W"], "OC": g["OC"], "OH": g["OH"], "OW": g["OW"],
                          "kh": g["kh"], "kw": g["kw"], "stride_h": g["sh"], "stride_w": g["sw"], "pad_top": g["pt"],
                          "pad_left": g["pl"], "pad_bottom": g["pb"], "pad_right": g["pr"], "group": g["group"]},
                  args=(Arg("params"), Arg("buf", x), Arg("const", wn), Arg("const", bn), Arg("buf", y)),
                  reads=(x,), writes=(y,), macs=macs)
    return [st, *float_activation_steps(node, ctx, y)]


def _direct_3x3(g: dict, node: Node, ctx: LowerCtx) -> bool:
    return direct_3x3(g["kh"], g["kw"], g["sh"], g["sw"], (g["pt"], g["pl"], g["pb"], g["pr"]), ctx.sfx(node), ctx.target)


_FUSED_ACT = {"Relu": "MCUF_ACT_RELU", "Clip": "MCUF_ACT_CLIP"}


def _conv_3x3_f32(node: Node, ctx: LowerCtx, g: dict, wn: str, bn: str, comment: tuple, macs: int) -> list[Step]:
    """Direct 3x3 conv with bias and Relu/Clip applied as outputs are written (no second pass)."""
    x, y = node.inputs[0], node.outputs[0]
    act = node.attrs.get("activation")
    fused = bool(act) and act.kind in _FUSED_ACT
    lo, hi = (act.lo, act.hi) if fused and act.kind == "Clip" else (0.0, 0.0)
    func = "mcuf_conv2d_f32_3x3"
    params = {"C": g["C"], "H": g["H"], "W": g["W"], "OC": g["OC"], "pad_top": g["pt"], "pad_left": g["pl"],
              "OH": g["OH"], "OW": g["OW"], "act": _FUSED_ACT[act.kind] if fused else "MCUF_ACT_NONE",
              "act_lo": lo, "act_hi": hi}
    # The whole zero-padded input (mcuf_conv2d_f32_3x3_scratch_size), or bands of output rows (the
    # planner sizes it between). The kernel takes bands down to one row, but each band re-pads its 2
    # halo rows: the least offered is 5 rows (7 padded rows), never below the kernel's least. With
    # 1-row bands the planner also spent the arena slack widening them on resnet8 (arena above its
    # packed least).
    scratch = scratch_size(func, params)
    padded_row = g["C"] * (g["OW"] + 2) * 4  # each further band row: one padded row per channel
    band = min(scratch, max(7 * padded_row, min_scratch_size(func, params)))
    if fused and act:
        comment = (*comment, f"{act} fused: applied as each output is written")
    st = Step(node=node.name, op="Conv", comment=comment, func=func, params_type="mcuf_conv2d_3x3_params",
              params=params,
              args=(Arg("params"), Arg("buf", x), Arg("const", wn), Arg("const", bn), Arg("buf", y),
                    *((Arg("scratch"), Arg("scratch_bytes")) if scratch else (Arg("lit", "NULL"), Arg("lit", "0")))),
              reads=(x,), writes=(y,), scratch_bytes=scratch, scratch_min=band,
              scratch_quantum=padded_row, macs=macs)
    return [st] if fused else [st, *float_activation_steps(node, ctx, y)]


# weight format -> (kernel, C type of the packed weights, packing)
_S8_CONV = {"int8": ("mcuf_conv2d_s8", "int8_t", pack_conv_weights_s8),
            "int4": ("mcuf_conv2d_s8w4", "uint8_t", pack_conv_weights_s4),
            "int2": ("mcuf_conv2d_s8w2", "uint8_t", pack_conv_weights_s2)}
# the same for group != 1 (depthwise / grouped): int8 in ONNX order, sub-byte as one packed field stream
_S8_DWCONV = {"int8": ("mcuf_dwconv2d_s8", "int8_t", lambda w: w),
              "int4": ("mcuf_dwconv2d_s8w4", "uint8_t", pack_dwconv_weights_s4),
              "int2": ("mcuf_dwconv2d_s8w2", "uint8_t", pack_dwconv_weights_s2)}


def _conv_s8(node: Node, ctx: LowerCtx, g: dict) -> list[Step]:
    lq = ctx.layer_quant(node)
    x = node.inputs[0]
    wq = np.asarray(ctx.quant.qconstants[lq.weight], np.int8)
    dst, (lo, hi) = int8_output(node, ctx)
    mult = ctx.add_const(f"{node.name}_mult", "int32_t", np.asarray(lq.requant["out"].multiplier, np.int32),
                         f'node "{node.name}" requantization multipliers (Q31)')
    shift = ctx.add_const(f"{node.name}_shift", "int32_t", np.asarray(lq.requant["out"].shift, np.int32),
                          f'node "{node.name}" requantization shifts')
    bn = ctx.add_const(f"{node.name}_b", "int32_t", np.asarray(lq.acc_bias, np.int32),
                       f'node "{node.name}" bias, input zero point folded in [{g["OC"]}]')
    params = {"C": g["C"], "H": g["H"], "W": g["W"], "OC": g["OC"], "OH": g["OH"], "OW": g["OW"],
              "kh": g["kh"], "kw": g["kw"], "stride_h": g["sh"], "stride_w": g["sw"], "pad_top": g["pt"],
              "pad_left": g["pl"], "pad_bottom": g["pb"], "pad_right": g["pr"], "group": g["group"],
              "in_zp": ctx.zp(x), "out_zp": ctx.zp(dst), "act_min": lo, "act_max": hi,
              "multiplier": mult, "shift": shift}
    macs = g["OC"] * g["OH"] * g["OW"] * g["C"] // g["group"] * g["kh"] * g["kw"]
    comment = node_comment(node, ctx, _detail(g))
    fmt = ctx.prec(node).weights
    wq_params = ctx.quant.tensor_qparams.get(node.inputs[1])
    if wq_params is not None:
        comment += (f"weights {fmt} per output channel, scales {float(np.min(wq_params.scale)):.4g}"
                    f"..{float(np.max(wq_params.scale)):.4g}",)
    if g["group"] == 1:
        func, ctype, pack = _S8_CONV[fmt]
        wn = ctx.add_const(f"{node.name}_w", ctype, pack(wq),
                           f'node "{node.name}" weight {list(wq.shape)} {fmt}, packed 4 output channels a block')
    else:
        func, ctype, pack = _S8_DWCONV[fmt]
        stored = "int8" if fmt == "int8" else f"{fmt}, packed {8 // int(fmt[3:])} a byte in (oc, c, i, j) order"
        wn = ctx.add_const(f"{node.name}_w", ctype, pack(wq), f'node "{node.name}" weight {list(wq.shape)} {stored}')
    scratch = scratch_size(func, params)
    st = Step(node=node.name, op="Conv", comment=comment, func=func, params_type="mcuf_conv2d_s8_params",
              params=params, args=(Arg("params"), Arg("buf", x), Arg("const", wn), Arg("const", bn), Arg("buf", dst),
                                   Arg("scratch") if scratch else Arg("lit", "NULL")),
              reads=(x,), writes=(dst,), scratch_bytes=scratch, macs=macs)
    return [st, *int8_epilogue(node, ctx, dst)]
