"""Views: Flatten and Reshape change no bytes (C order, batch 1), so their output aliases the input."""
from __future__ import annotations

from mcuforge.core.ir import Node

from mcuforge.codegen.lower import LowerCtx, node_comment, resolver
from mcuforge.codegen.program import Step


@resolver("Flatten", "Reshape")
def view(node: Node, ctx: LowerCtx) -> list[Step]:
    x, y = node.inputs[0], node.outputs[0]
    if ctx.precision == "int8" and ctx.qparams.get(x) is not None and ctx.qparams.get(y) is not None:
        qx, qy = ctx.qparams[x], ctx.qparams[y]
        if float(qx.scale) != float(qy.scale) or int(qx.zero_point) != int(qy.zero_point):
            raise AssertionError(f"quantizer gave view '{node.name}' different input/output parameters")
    return [Step(node=node.name, op=node.op, comment=node_comment(node, ctx), func=None,
                 reads=(x,), writes=(y,), alias_of=x)]
