"""Edge steps: the caller's float inputs into the arena, and arena results out to the caller."""
from __future__ import annotations

import numpy as np

from mcuforge.codegen.lower import LowerCtx, c_ident
from mcuforge.codegen.program import Arg, Step


def _qparams(ctx: LowerCtx, tensor: str) -> dict:
    q = ctx.qparams[tensor]
    return {"scale": float(np.ravel(q.scale)[0]), "zero_point": int(np.ravel(q.zero_point)[0])}


def input_steps(ctx: LowerCtx) -> list[Step]:
    """Copy (fp32), convert (fp16) or quantize (int8) each graph input into its arena buffer."""
    steps = []
    for t in ctx.graph.inputs:
        n = t.size
        src = Arg("lit", f"in_{c_ident(t.name)}")
        common = dict(node=f"input {t.name}", op="Input", reads=(), writes=(t.name,))
        if ctx.precision == "fp32":
            steps.append(Step(comment=(f'graph input "{t.name}" {list(t.shape)}',), func="mcuf_copy_f32",
                              args=(Arg("lit", str(n)), src, Arg("buf", t.name)), **common))
        elif ctx.precision == "fp16":
            steps.append(Step(comment=(f'graph input "{t.name}" {list(t.shape)} to FP16',), func="mcuf_convert_f32_f16",
                              args=(Arg("lit", str(n)), src, Arg("buf", t.name)), **common))
        else:
            steps.append(Step(comment=(f'graph input "{t.name}" {list(t.shape)} quantized',), func="mcuf_quantize_f32_s8",
                              params_type="mcuf_qparams", params=_qparams(ctx, t.name),
                              args=(Arg("params"), Arg("lit", str(n)), src, Arg("buf", t.name)), **common))
    return steps


def output_steps(ctx: LowerCtx) -> list[Step]:
    """Copy, convert or dequantize each graph output from the arena to the caller's buffer."""
    steps = []
    for t in ctx.graph.outputs:
        n = t.size
        dst = Arg("lit", f"out_{c_ident(t.name)}")
        common = dict(node=f"output {t.name}", op="Output", reads=(t.name,), writes=())
        ctype = ctx.tensor_ctype.get(t.name, ctx.act_ctype)
        if ctype == "float":
            steps.append(Step(comment=(f'graph output "{t.name}" {list(t.shape)}',), func="mcuf_copy_f32",
                              args=(Arg("lit", str(n)), Arg("buf", t.name), dst), **common))
        elif ctype == "mcuf_f16":
            steps.append(Step(comment=(f'graph output "{t.name}" {list(t.shape)} from FP16',), func="mcuf_convert_f16_f32",
                              args=(Arg("lit", str(n)), Arg("buf", t.name), dst), **common))
        else:
            steps.append(Step(comment=(f'graph output "{t.name}" {list(t.shape)} dequantized',), func="mcuf_dequantize_s8_f32",
                              params_type="mcuf_qparams", params=_qparams(ctx, t.name),
                              args=(Arg("params"), Arg("lit", str(n)), Arg("buf", t.name), dst), **common))
    return steps
