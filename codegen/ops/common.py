"""Helpers shared by op resolvers: backend variants, fused activations, int8 table lookups."""
from __future__ import annotations

import numpy as np

from mcuforge.core.errors import McufError
from mcuforge.core.ir import Activation, Node
from mcuforge.codegen.context import LowerCtx
from mcuforge.codegen.kernels import best_variant, has_kernel
from mcuforge.codegen.program import Arg, Step


def target_variant(ctx: LowerCtx, base: str) -> str:
    """The best backend variant of `base` for the compile target (portable if none)."""
    return best_variant(base, ctx.target.fp16, ctx.target.vector_bits)


def n_elements(ctx: LowerCtx, tensor: str) -> int:
    return int(np.prod(ctx.shape(tensor), dtype=np.int64))


def float_activation_steps(node: Node, ctx: LowerCtx, tensor: str) -> list[Step]:
    """In-place steps applying `node`'s fused activation to `tensor` (float layers)."""
    act = node.attrs.get("activation")
    if not act:
        return []
    n = n_elements(ctx, tensor)
    kind = act.kind
    sfx = ctx.sfx(node)
    if kind == "Relu":
        func = target_variant(ctx, f"mcuf_relu_{sfx}")
        return [Step(node=node.name, op="Relu", comment=(f'fused Relu of "{node.name}", in place',), func=func,
                     args=(Arg("lit", str(n)), Arg("buf", tensor), Arg("buf", tensor)),
                     reads=(tensor,), writes=(tensor,))]
    func = f"mcuf_act_{sfx}"
    if not has_kernel(func):
        raise McufError(f"node '{node.name}': no kernel for the fused activation {kind} at {ctx.prec(node).activations}")
    return [Step(node=node.name, op=kind, comment=(f'fused {kind} of "{node.name}", in place',), func=func,
                 params_type="mcuf_act_params", params=activation_params(act),
                 args=(Arg("params"), Arg("lit", str(n)), Arg("buf", tensor), Arg("buf", tensor)),
                 reads=(tensor,), writes=(tensor,))]


_ACT_ENUM = {"Relu": "MCUF_ACT_RELU", "Clip": "MCUF_ACT_CLIP", "LeakyRelu": "MCUF_ACT_LEAKY_RELU",
             "Sigmoid": "MCUF_ACT_SIGMOID", "HardSigmoid": "MCUF_ACT_HARD_SIGMOID", "HardSwish": "MCUF_ACT_HARD_SWISH"}


def activation_params(act: Activation) -> dict:
    """mcuf_act_params for an Activation (fields a kind does not use are 0)."""
    p = {"kind": _ACT_ENUM[act.kind], "alpha": 0.0, "beta": 0.0, "lo": 0.0, "hi": 0.0}
    if act.kind == "Clip":
        p["lo"], p["hi"] = act.lo, act.hi
    elif act.kind == "LeakyRelu":
        p["alpha"] = act.alpha
    elif act.kind == "HardSigmoid":
        p["alpha"], p["beta"] = act.alpha, act.beta
    return p


def int8_output(node: Node, ctx: LowerCtx) -> tuple[str, tuple[int, int]]:
    """Where an int8 layer's requantized accumulator goes and its clamp: the output itself with the
    fused Relu/Clip as a clamp, or (a fused table activation) the pre-activation tensor, unclamped."""
    lq = ctx.layer_quant(node)
    y = node.outputs[0]
    if lq.preact:
        return ctx.add_tensor(lq.preact, ctx.shape(y), "int8_t"), (-128, 127)
    return y, (int(lq.clamp[0]), int(lq.clamp[1]))


def int8_epilogue(node: Node, ctx: LowerCtx, dst: str) -> list[Step]:
    """The table lookup of a fused non-clamping activation (nothing when the clamp did the job)."""
    lq = ctx.layer_quant(node)
    return [lut_step(node, ctx, dst, node.outputs[0], lq.lut)] if lq.lut is not None and dst != node.outputs[0] else []


def lut_step(node: Node, ctx: LowerCtx, src: str, dst: str, lut: np.ndarray) -> Step:
    """out = lut[in + 128]: a non-clamping activation in int8 (table computed by the quantizer)."""
    cname = ctx.add_const(f"{node.name}_lut", "int8_t", np.asarray(lut, np.int8), f'node "{node.name}" activation table')
    n = n_elements(ctx, dst)
    return Step(node=node.name, op="LUT", comment=(f'activation of "{node.name}" by table lookup',),
                func="mcuf_lut_s8", args=(Arg("lit", str(n)), Arg("const", cname),
                                          Arg("buf", src), Arg("buf", dst)), reads=(src,), writes=(dst,))
