"""Views: Flatten and Reshape change no bytes (C order, batch 1), so their output aliases the input."""
from __future__ import annotations

from mcuforge.core.ir import Node

from mcuforge.codegen.context import LowerCtx, node_comment, resolver
from mcuforge.codegen.program import Step


@resolver("Flatten", "Reshape")
def view(node: Node, ctx: LowerCtx) -> list[Step]:
    x, y = node.inputs[0], node.outputs[0]
    if ctx.is_int8(node) and (ctx.scale(x), ctx.zp(x)) != (ctx.scale(y), ctx.zp(y)):
        raise AssertionError(f"quantizer gave view '{node.name}' different input/output parameters")
    return [Step(node=node.name, op=node.op, comment=node_comment(node, ctx), func=None,
                 reads=(x,), writes=(y,), alias_of=x)]
