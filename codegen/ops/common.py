"""Helpers shared by op resolvers: fused activations, int8 parameters, constant naming."""
from __future__ import annotations

import numpy as np

from mcuforge.core.errors import McufError
from mcuforge.core.ir import Node, QuantParams

from mcuforge.codegen.kernels import best_variant, has_kernel
from mcuforge.codegen.lower import LowerCtx
from mcuforge.codegen.program import Arg, Step


def target_variant(ctx: LowerCtx, base: str) -> str:
    """The best backend variant of `base` for the compile target (portable if none)."""
    t = ctx.extra.get("target")
    if t is None:
        return base
    return best_variant(base, t.fp16, t.vector_bits)


def n_elements(ctx: LowerCtx, tensor: str) -> int:
    return int(np.prod(ctx.shape(tensor), dtype=np.int64))


def float_activation_steps(node: Node, ctx: LowerCtx, tensor: str) -> list[Step]:
    """In-place steps applying `node`'s fused activation to `tensor` (float precisions)."""
    act = node.attrs.get("activation")
    if not act:
        return []
    n = n_elements(ctx, tensor)
    kind = act[0]
    if kind == "Relu":
        func = target_variant(ctx, f"mcuf_relu_{ctx.sfx}")
        return [Step(node=node.name, op="Relu", comment=(f'fused Relu of "{node.name}", in place',), func=func,
                     args=(Arg("lit", str(n)), Arg("buf", tensor), Arg("buf", tensor)),
                     reads=(tensor,), writes=(tensor,))]
    func = f"mcuf_act_{ctx.sfx}"
    if not has_kernel(func):
        raise McufError(f"node '{node.name}': no kernel for the fused activation {kind} at {ctx.precision}")
    params = activation_params(act)
    return [Step(node=node.name, op=kind, comment=(f'fused {kind} of "{node.name}", in place',), func=func,
                 params_type="mcuf_act_params", params=params,
                 args=(Arg("params"), Arg("lit", str(n)), Arg("buf", tensor), Arg("buf", tensor)),
                 reads=(tensor,), writes=(tensor,))]


def maxpool_2x2_fast(node: Node, ctx: LowerCtx) -> bool:
    """mcuf_maxpool2d_f32_2x2 applies to this MaxPool: FP32, 2x2 stride 2, no padding, floor sizes."""
    a = node.attrs
    if node.op != "MaxPool" or ctx.sfx != "f32":
        return False
    xs, ys = ctx.shape(node.inputs[0]), ctx.shape(node.outputs[0])
    return (tuple(a["kernel_shape"]) == (2, 2) and tuple(a["strides"]) == (2, 2) and not any(a["pads"])
            and len(xs) == 4 and tuple(ys[2:]) == (xs[2] // 2, xs[3] // 2) and len(node.outputs) == 1)


def activation_moves_to_pool(conv: Node, ctx: LowerCtx) -> bool:
    """A Relu/Clip fused into an FP32 direct 3x3 conv whose output feeds only a 2x2 max pool fast path
    is applied by the pool instead: monotonic activations commute with max, and the pool sees 4x
    fewer values. The conv's output then holds pre-activation values no one else reads."""
    from mcuforge.codegen.ops.conv import direct_3x3_applies  # conv imports this module

    act = conv.attrs.get("activation")
    if conv.op != "Conv" or not act or act[0] not in ("Relu", "Clip") or ctx.sfx != "f32":
        return False
    y = conv.outputs[0]
    if any(t.name == y for t in ctx.graph.outputs):
        return False
    users = ctx.graph.consumers(y)
    return len(users) == 1 and maxpool_2x2_fast(users[0], ctx) and direct_3x3_applies(conv, ctx)


_ACT_ENUM = {"Relu": "MCUF_ACT_RELU", "Clip": "MCUF_ACT_CLIP", "LeakyRelu": "MCUF_ACT_LEAKY_RELU",
             "Sigmoid": "MCUF_ACT_SIGMOID", "HardSigmoid": "MCUF_ACT_HARD_SIGMOID", "HardSwish": "MCUF_ACT_HARD_SWISH"}


def activation_params(act: tuple) -> dict:
    """mcuf_act_params for an activation tuple (see mcuforge.core.ir.Node)."""
    kind = act[0]
    p = {"kind": _ACT_ENUM[kind], "alpha": 0.0, "beta": 0.0, "lo": 0.0, "hi": 0.0}
    if kind == "Clip":
        p["lo"], p["hi"] = float(act[1]), float(act[2])
    elif kind == "LeakyRelu":
        p["alpha"] = float(act[1])
    elif kind == "HardSigmoid":
        p["alpha"], p["beta"] = float(act[1]), float(act[2])
    return p


def qp(ctx: LowerCtx, tensor: str) -> QuantParams:
    try:
        return ctx.qparams[tensor]
    except KeyError:
        raise McufError(f"tensor '{tensor}' has no quantization parameters (was the model calibrated?)") from None


def zp(ctx: LowerCtx, tensor: str) -> int:
    return int(np.ravel(qp(ctx, tensor).zero_point)[0])


def scale(ctx: LowerCtx, tensor: str) -> float:
    return float(np.ravel(qp(ctx, tensor).scale)[0])


def layer_quant(ctx: LowerCtx, node: Node):
    qmodel = ctx.extra.get("qmodel")
    if qmodel is None or node.name not in qmodel.layers:
        raise McufError(f"node '{node.name}' ({node.op}) has no int8 quantization data")
    return qmodel.layers[node.name]


def clamp_of(ctx: LowerCtx, node: Node) -> tuple[int, int]:
    lq = layer_quant(ctx, node)
    return int(lq.clamp[0]), int(lq.clamp[1])


def lut_step(node: Node, ctx: LowerCtx, src: str, dst: str, lut: np.ndarray) -> Step:
    """out = lut[in + 128]: a non-clamping activation in int8 (table computed by the quantizer)."""
    cname = ctx.add_const(f"{node.name}_lut", "int8_t", np.asarray(lut, np.int8), f'node "{node.name}" activation table')
    n = n_elements(ctx, dst)
    return Step(node=node.name, op="LUT", comment=(f'activation of "{node.name}" by table lookup',),
                func="mcuf_lut_s8", args=(Arg("lit", str(n)), Arg("const", cname),
                                          Arg("buf", src), Arg("buf", dst)), reads=(src,), writes=(dst,))
