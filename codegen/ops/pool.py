"""MaxPool, AveragePool, GlobalAveragePool: float and int8, all through mcuf_pool.h."""
from __future__ import annotations

import numpy as np

from mcuforge.core.ir import Node

from mcuforge.codegen.choice import maxpool_2x2_fast
from mcuforge.codegen.context import LowerCtx, node_comment, resolver
from mcuforge.codegen.program import Arg, Step


def _geometry(node: Node, ctx: LowerCtx) -> dict:
    xs, ys = ctx.shape(node.inputs[0]), ctx.shape(node.outputs[0])
    a = node.attrs
    kh, kw = a["kernel_shape"]
    sh, sw = a["strides"]
    pt, pl, pb, pr = a["pads"]
    H, W, OH, OW = xs[2], xs[3], ys[2], ys[3]
    return dict(C=xs[1], H=H, W=W, OH=OH, OW=OW, kh=kh, kw=kw, sh=sh, sw=sw, pt=pt, pl=pl, pb=pb, pr=pr,
                ceil=bool(a.get("ceil_mode", 0)),
                cip=int(a.get("count_include_pad", 0)))


@resolver("MaxPool", "AveragePool")
def pool(node: Node, ctx: LowerCtx) -> list[Step]:
    g = _geometry(node, ctx)
    x, y = node.inputs[0], node.outputs[0]
    kind = "max" if node.op == "MaxPool" else "avg"
    detail = f"{g['kh']}x{g['kw']} stride {g['sh']},{g['sw']} pads {g['pt']},{g['pl']},{g['pb']},{g['pr']}" + (" ceil" if g["ceil"] else "")
    comment = node_comment(node, ctx, detail)
    if ctx.is_int8(node):
        return [_pool_s8(node, ctx, g, kind, comment)]
    params = {"C": g["C"], "H": g["H"], "W": g["W"], "OH": g["OH"], "OW": g["OW"], "kh": g["kh"], "kw": g["kw"],
              "stride_h": g["sh"], "stride_w": g["sw"], "pad_top": g["pt"], "pad_left": g["pl"],
              "pad_bottom": g["pb"], "pad_right": g["pr"], "count_include_pad": g["cip"]}
    if node.op == "MaxPool" and maxpool_2x2_fast(node.attrs, ctx.shape(x), ctx.shape(y), len(node.outputs), ctx.sfx(node)):
        # an activation here was moved from the conv before (codegen.fusion)
        act = node.attrs.get("activation")
        kinds = {"Relu": "MCUF_ACT_RELU", "Clip": "MCUF_ACT_CLIP"}
        lo, hi = (act.lo, act.hi) if act and act.kind == "Clip" else (0.0, 0.0)
        if act:
            comment = (*comment, f'applies the {act.kind} of "{node.attrs["activation_from"]}" '
                       "(it commutes with max; 4x fewer values)")
        return [Step(node=node.name, op=node.op, comment=comment, func="mcuf_maxpool2d_f32_2x2",
                     params_type="mcuf_maxpool2d_2x2_params",
                     params={"C": g["C"], "H": g["H"], "W": g["W"], "OH": g["OH"], "OW": g["OW"],
                             "act": kinds[act.kind] if act else "MCUF_ACT_NONE", "act_lo": lo, "act_hi": hi},
                     args=(Arg("params"), Arg("buf", x), Arg("buf", y)), reads=(x,), writes=(y,), macs=0)]
    return [Step(node=node.name, op=node.op, comment=comment, func=f"mcuf_{kind}pool2d_{ctx.sfx(node)}",
                 params_type="mcuf_pool2d_params", params=params,
                 args=(Arg("params"), Arg("buf", x), Arg("buf", y)), reads=(x,), writes=(y,), macs=0)]


def _pool_s8(node: Node, ctx: LowerCtx, g: dict, kind: str, comment: tuple) -> Step:
    x, y = node.inputs[0], node.outputs[0]
    lq = ctx.layer_quant(node)
    params = {"C": g["C"], "H": g["H"], "W": g["W"], "OH": g["OH"], "OW": g["OW"], "kh": g["kh"], "kw": g["kw"],
              "stride_h": g["sh"], "stride_w": g["sw"], "pad_top": g["pt"], "pad_left": g["pl"],
              # count_include_pad 2 divides every window by kh*kw, as onnxruntime's fused QDQ
              # AveragePool does (it differs from ONNX only for ceil-mode windows past the padding).
              "pad_bottom": g["pb"], "pad_right": g["pr"], "count_include_pad": 2 if g["cip"] else 0,
              "in_zp": ctx.zp(x), "out_zp": ctx.zp(y), "act_min": int(lq.clamp[0]), "act_max": int(lq.clamp[1])}
    if kind == "avg":
        rq = lq.requant["out"]  # one ratio per window divisor 1 .. kh*kw
        params["multiplier"] = ctx.add_const(f"{node.name}_mult", "int32_t", np.asarray(rq.multiplier, np.int32),
                                             f'node "{node.name}" requantization by divisor (Q31)')
        params["shift"] = ctx.add_const(f"{node.name}_shift", "int32_t", np.asarray(rq.shift, np.int32),
                                        f'node "{node.name}" shifts by divisor')
    else:
        params["multiplier"] = "NULL"
        params["shift"] = "NULL"
    return Step(node=node.name, op=node.op, comment=comment, func=f"mcuf_{kind}pool2d_s8", params_type="mcuf_pool2d_s8_params",
                params=params, args=(Arg("params"), Arg("buf", x), Arg("buf", y)), reads=(x,), writes=(y,))


@resolver("GlobalAveragePool")
def gap(node: Node, ctx: LowerCtx) -> list[Step]:
    x, y = node.inputs[0], node.outputs[0]
    xs = ctx.shape(x)
    C, HW = xs[1], int(np.prod(xs[2:], dtype=np.int64))
    comment = node_comment(node, ctx, f"over {HW} values")
    if ctx.is_int8(node):
        rq = ctx.layer_quant(node).requant["out"]
        return [Step(node=node.name, op=node.op, comment=comment, func="mcuf_global_avgpool_s8",
                     params_type="mcuf_global_avgpool_s8_params",
                     params={"C": C, "HW": HW, "in_zp": ctx.zp(x), "out_zp": ctx.zp(y), "multiplier": int(rq.multiplier),
                             "shift": int(rq.shift), "act_min": -128, "act_max": 127},
                     args=(Arg("params"), Arg("buf", x), Arg("buf", y)), reads=(x,), writes=(y,))]
    return [Step(node=node.name, op=node.op, comment=comment, func=f"mcuf_global_avgpool_{ctx.sfx(node)}",
                 params_type="mcuf_global_avgpool_params", params={"C": C, "HW": HW, "acc": "MCUF_ACC_F32"},
                 args=(Arg("params"), Arg("buf", x), Arg("buf", y)), reads=(x,), writes=(y,))]
