"""Type conversions: the caller's float inputs into the arena, results out to the caller, and the
conversions the precision plan lists between layers that compute in different types."""
from __future__ import annotations

from mcuforge.core.precision import Conversion
from mcuforge.codegen.context import CTYPE, LowerCtx, c_ident
from mcuforge.codegen.program import Arg, Step

# (from, to) -> kernel; int8 <-> fp16 goes through an fp32 temporary (no direct kernel).
_KERNEL = {("fp32", "fp16"): "mcuf_convert_f32_f16", ("fp16", "fp32"): "mcuf_convert_f16_f32",
           ("fp32", "int8"): "mcuf_quantize_f32_s8", ("int8", "fp32"): "mcuf_dequantize_s8_f32",
           ("fp32", "fp32"): "mcuf_copy_f32"}
_WHAT = {("fp32", "fp16"): "to FP16", ("fp16", "fp32"): "from FP16", ("fp32", "int8"): "quantized",
         ("int8", "fp32"): "dequantized", ("fp32", "fp32"): "copied"}


def _convert(ctx: LowerCtx, src: Arg, dst: Arg, n: int, kind: tuple[str, str], qtensor: str, **common) -> Step:
    func = _KERNEL[kind]
    if "int8" in kind:
        return Step(func=func, params_type="mcuf_qparams",
                    params={"scale": ctx.scale(qtensor), "zero_point": ctx.zp(qtensor)},
                    args=(Arg("params"), Arg("lit", str(n)), src, dst), **common)
    return Step(func=func, args=(Arg("lit", str(n)), src, dst), **common)


def input_steps(ctx: LowerCtx) -> list[Step]:
    """Copy (fp32), convert (fp16) or quantize (int8) each graph input into its arena buffer."""
    steps = []
    for t in ctx.graph.inputs:
        kind = ("fp32", ctx.plan.tensors[t.name])
        steps.append(_convert(ctx, Arg("lit", f"in_{c_ident(t.name)}"), Arg("buf", t.name), t.size, kind, t.name,
                              node=f"input {t.name}", op="Input", reads=(), writes=(t.name,),
                              comment=(f'graph input "{t.name}" {list(t.shape)} {_WHAT[kind]}',)))
    return steps


def output_steps(ctx: LowerCtx) -> list[Step]:
    """Copy, convert or dequantize each graph output from the arena to the caller's buffer."""
    steps = []
    for t in ctx.graph.outputs:
        kind = (ctx.plan.tensors[t.name], "fp32")
        steps.append(_convert(ctx, Arg("buf", t.name), Arg("lit", f"out_{c_ident(t.name)}"), t.size, kind, t.name,
                              node=f"output {t.name}", op="Output", reads=(t.name,), writes=(),
                              comment=(f'graph output "{t.name}" {list(t.shape)} {_WHAT[kind]}',)))
    return steps


def conversion_steps(ctx: LowerCtx, conv: Conversion) -> list[Step]:
    """`conv.tensor` (stored as conv.src) into its copy `conv.name` (as conv.dst), between two layers."""
    n = 1
    for d in ctx.shape(conv.tensor):
        n *= d
    common = dict(node=f"convert {conv.tensor}", op="Convert")
    head = (f'precision boundary: "{conv.tensor}" {conv.src} -> {conv.dst} for the layers reading it',)
    if (conv.src, conv.dst) in _KERNEL:
        return [_convert(ctx, Arg("buf", conv.tensor), Arg("buf", conv.name), n, (conv.src, conv.dst), conv.tensor,
                         reads=(conv.tensor,), writes=(conv.name,), comment=head, **common)]
    mid = ctx.add_tensor(f"{conv.tensor}__via_fp32", ctx.shape(conv.tensor), CTYPE["fp32"])
    return [_convert(ctx, Arg("buf", conv.tensor), Arg("buf", mid), n, (conv.src, "fp32"), conv.tensor,
                     reads=(conv.tensor,), writes=(mid,), comment=(*head, "through FP32"), **common),
            _convert(ctx, Arg("buf", mid), Arg("buf", conv.name), n, ("fp32", conv.dst), conv.tensor,
                     reads=(mid,), writes=(conv.name,), comment=(), **common)]
