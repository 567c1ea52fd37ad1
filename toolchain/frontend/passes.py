"""The normalisation passes: pure `Graph -> Graph` rewrites from an imported model to the form codegen reads.

Shapes inferred, constants folded, Identity/Dropout/QDQ pairs/BatchNormalization removed, shape-only
ops and spatial means in canonical form, MatMul as Gemm, bias Adds and activations fused into their
producer. mcuforge.frontend.pipeline.PASSES runs them in order; attribute normalisation and the
supported-op checks are in mcuforge.frontend.optable.
"""
from __future__ import annotations

import dataclasses
from typing import Mapping

import numpy as np
import onnx
from onnx import helper

from mcuforge.core.errors import McufError
from mcuforge.core.ir import Graph, Node, QuantParams, TensorInfo, activation_of, frozen_map
from mcuforge.frontend.onnx_io import ML_DOMAIN, dtype_name, raw_to_onnx, to_attribute
from mcuforge.frontend.optable import ACTIVATIONS, FUSE_INTO
from mcuforge.frontend.rewrite import bypass, new_const, node_error, prune, replace_graph, replace_node, use_counts


def infer_shapes(graph: Graph) -> Graph:
    """Run onnx shape inference (strict, with data propagation) and give every tensor a static shape."""
    model = raw_to_onnx(graph)
    try:
        inferred = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True, data_prop=True)
    except Exception as e:  # onnx raises InferenceError / ValidationError with the node in the text
        raise McufError(f"ONNX shape inference failed: {e}") from None
    tensors = dict(graph.tensors)
    g = inferred.graph
    for vi in list(g.value_info) + list(g.output):
        if not vi.type.HasField("tensor_type"):
            continue
        tt = vi.type.tensor_type
        dtype = dtype_name(tt.elem_type) if tt.elem_type else None
        if tt.HasField("shape") and all(d.HasField("dim_value") for d in tt.shape.dim) and dtype:
            tensors[vi.name] = TensorInfo(vi.name, tuple(int(d.dim_value) for d in tt.shape.dim), dtype)
    missing = []
    for n in graph.nodes:
        for o in n.outputs:
            if o and o not in tensors:
                missing.append(f"'{o}' (output of {n.name}: {n.op})")
    if missing:
        raise McufError("shape inference left tensors without a static shape: " + ", ".join(missing[:10])
                        + "; export the model with static shapes (batch 1)")
    return replace_graph(
        graph, tensors=tensors,
        inputs=[tensors[t.name] for t in graph.inputs],
        outputs=[tensors[t.name] for t in graph.outputs],
    )


def _evaluate(graph: Graph, node: Node, values: Mapping[str, np.ndarray]) -> list[np.ndarray]:
    from onnx.reference import ReferenceEvaluator

    proto = helper.make_node(node.op, list(node.inputs), list(node.outputs), domain=node.domain)
    proto.attribute.extend(to_attribute(k, v) for k, v in node.attrs.items())
    opsets = {"": graph.opset}
    if node.domain:
        opsets[node.domain] = 3 if node.domain == ML_DOMAIN else 1
    try:
        ev = ReferenceEvaluator(proto, opsets=opsets)
        return list(ev.run(None, {i: values[i] for i in node.inputs if i}))
    except Exception as e:
        raise node_error(node, f"constant folding failed: {e}") from None


def fold_constants(graph: Graph) -> Graph:
    """Evaluate nodes whose inputs are all constants (and Shape/Size of statically shaped tensors)."""
    consts = dict(graph.constants)
    tensors = dict(graph.tensors)
    nodes = []
    out_names = {t.name for t in graph.outputs}
    for n in graph.nodes:
        values: list[np.ndarray] | None = None
        if n.op in ("Shape", "Size") and n.domain == "" and n.inputs[0] in tensors and n.inputs[0] not in consts:
            shape = tensors[n.inputs[0]].shape
            if n.op == "Size":
                values = [np.array(int(np.prod(shape, dtype=np.int64)), dtype=np.int64)]
            else:
                start, end = n.attrs.get("start", 0), n.attrs.get("end", None)
                values = [np.array(shape[start:end], dtype=np.int64)]
        elif all(i == "" or i in consts for i in n.inputs) and not any(o in out_names for o in n.outputs):
            values = _evaluate(graph, n, consts)
        if values is None:
            nodes.append(n)
            continue
        for name, v in zip(n.outputs, values):
            if name:
                v = np.asarray(v)
                consts[name] = v
                tensors[name] = TensorInfo(name, tuple(v.shape), v.dtype.name)
    return prune(replace_graph(graph, nodes=nodes, constants=consts, tensors=tensors))


def remove_identity(graph: Graph) -> Graph:
    """Remove Identity, Dropout (inference) and Cast to the dtype the tensor already has."""
    for name in [n.name for n in graph.nodes if n.op in ("Identity", "Dropout", "Cast")]:
        n = graph.node(name)  # passes rebuild nodes: always look up the current one
        if n.op == "Identity":
            graph = bypass(graph, n, n.inputs[0], n.outputs[0])
        elif n.op == "Dropout":
            if len(n.outputs) > 1 and n.outputs[1] and graph.consumers(n.outputs[1]):
                raise node_error(n, "the dropout mask output is used; only inference-mode Dropout is supported")
            if len(n.inputs) > 2 and n.inputs[2]:
                mode = graph.constants.get(n.inputs[2])
                if mode is None or bool(mode):
                    raise node_error(n, "training_mode must be a constant false")
            graph = bypass(graph, n, n.inputs[0], n.outputs[0])
        elif n.op == "Cast":
            src, dst = graph.tensors.get(n.inputs[0]), graph.tensors.get(n.outputs[0])
            if src is not None and dst is not None and src.dtype == dst.dtype:
                graph = bypass(graph, n, n.inputs[0], n.outputs[0])
    return graph


def _qparams_from(graph: Graph, node: Node) -> QuantParams:
    scale = graph.constants.get(node.inputs[1])
    if scale is None:
        raise node_error(node, f"scale '{node.inputs[1]}' must be a constant")
    zp_name = node.inputs[2] if len(node.inputs) > 2 else ""
    if zp_name:
        if zp_name not in graph.constants:
            raise node_error(node, f"zero point '{zp_name}' must be a constant")
        zp = graph.constants[zp_name]
    else:
        zp = np.zeros(np.shape(scale), np.uint8)
    dt = zp.dtype.name
    bits = {"int8": 8, "uint8": 8, "int16": 16, "uint16": 16, "int4": 4, "uint4": 4, "int2": 2, "uint2": 2}.get(dt)
    if bits is None:
        raise node_error(node, f"zero point dtype {dt} is not an integer type mcuforge reads")
    axis = None
    if np.size(scale) > 1:
        rank = len(graph.tensors[node.inputs[0]].shape)
        axis = int(node.attrs.get("axis", 1)) % rank
    return QuantParams(
        scale=np.asarray(scale, np.float32), zero_point=np.asarray(zp).astype(np.int32),
        bits=bits, signed=not dt.startswith("u"), axis=axis,
    )


def _keep_saturation(graph: Graph, x: str, qp: QuantParams) -> Graph:
    """Quantizers (onnxruntime's among them) drop a Relu/Clip before a QuantizeLinear whose range
    starts at 0: the saturation does the clamping. Removing the Q/DQ pair would lose it, so a
    non-negative range after Conv/Gemm/MatMul/Add becomes an explicit Clip(0, max) (fused later)."""
    prod = graph.producer(x)
    if prod is None or prod.op not in FUSE_INTO or qp.axis is not None:
        return graph
    scale, zp = float(qp.scale), int(qp.zero_point)
    lo, hi = scale * (qp.qmin - zp), scale * (qp.qmax - zp)
    if lo < 0:
        return graph
    pre = f"{x}_unclipped"
    tensors = dict(graph.tensors)
    tensors[pre] = dataclasses.replace(tensors[x], name=pre)
    new_prod = replace_node(prod, outputs=tuple(pre if o == x else o for o in prod.outputs))
    clip = Node(f"{prod.name}_saturation", "Clip", (pre,), (x,), frozen_map({"min": lo, "max": hi}))
    nodes = []
    for n in graph.nodes:
        nodes += [new_prod, clip] if n is prod else [n]
    return replace_graph(graph, nodes=nodes, tensors=tensors)


def absorb_qdq(graph: Graph) -> Graph:
    """Remove QuantizeLinear->DequantizeLinear pairs on activations, keeping their parameters in
    Graph.source_qparams (a model quantized elsewhere); DQ of constant weights is folded already."""
    for qname in [n.name for n in graph.nodes if n.op == "QuantizeLinear"]:
        q = graph.node(qname)
        users = graph.consumers(q.outputs[0])
        if not users or any(u.op != "DequantizeLinear" for u in users) or q.outputs[0] in {
            t.name for t in graph.outputs
        }:
            continue
        x = q.inputs[0]
        qp = _qparams_from(graph, q)
        graph = replace_graph(graph, nodes=[n for n in graph.nodes if n is not q],
                      source_qparams={**graph.source_qparams, x: qp})
        graph = _keep_saturation(graph, x, qp)
        for dq_name in [u.name for u in users]:
            dq = graph.node(dq_name)
            graph = bypass(graph, dq, x, dq.outputs[0])
            if dq.outputs[0] in {t.name for t in graph.outputs}:
                x = dq.outputs[0]  # bypass renamed x to the graph output it feeds
    return graph


def _bn_params(graph: Graph, bn: Node) -> tuple[np.ndarray, np.ndarray]:
    """(scale, shift) per channel of an inference BatchNormalization."""
    allowed = {"epsilon", "momentum", "training_mode", "spatial", "is_test", "consumed_inputs"}
    for k in bn.attrs:
        if k not in allowed:
            raise node_error(bn, f"unknown attribute '{k}'")
    if bn.attrs.get("training_mode", 0):
        raise node_error(bn, "attribute 'training_mode' = 1: export the model in eval mode")
    if bn.attrs.get("spatial", 1) != 1:
        raise node_error(bn, "attribute 'spatial' = 0 is not supported")
    for extra in bn.outputs[1:]:
        if extra and graph.consumers(extra):
            raise node_error(bn, f"training output '{extra}' is used")
    vals = []
    for t in bn.inputs[1:5]:
        if t not in graph.constants:
            raise node_error(bn, f"input '{t}' must be a constant")
        vals.append(graph.constants[t].astype(np.float64))
    gamma, beta, mean, var = vals
    eps = float(bn.attrs.get("epsilon", 1e-5))
    scale = gamma / np.sqrt(var + eps)
    return scale, beta - mean * scale


def fold_batchnorm(graph: Graph) -> Graph:
    """Fold BatchNormalization into the preceding Conv/Gemm (constant weights, single consumer);
    any other BatchNormalization becomes Mul + Add with per-channel constants."""
    for bn_name in [n.name for n in graph.nodes if n.op == "BatchNormalization"]:
        bn = graph.node(bn_name)
        scale, shift = _bn_params(graph, bn)
        x = bn.inputs[0]
        prod = graph.producer(x)
        uses = use_counts(graph)
        consts, tensors = dict(graph.constants), dict(graph.tensors)
        nodes = list(graph.nodes)
        foldable = (
            prod is not None and prod.op in ("Conv", "Gemm") and uses.get(x, 0) == 1
            and prod.inputs[1] in consts and (len(prod.inputs) < 3 or not prod.inputs[2] or prod.inputs[2] in consts)
        )
        if foldable and prod.op == "Gemm":
            foldable = not prod.attrs.get("transA", 0) and len(tensors[x].shape) == 2
        if foldable:
            w = consts[prod.inputs[1]].astype(np.float64)
            bias_name = prod.inputs[2] if len(prod.inputs) > 2 else ""
            attrs = dict(prod.attrs)
            if prod.op == "Conv":
                b = consts[bias_name].astype(np.float64) if bias_name else np.zeros(w.shape[0])
                w = w * scale.reshape((-1,) + (1,) * (w.ndim - 1))
                b = b * scale + shift
            else:
                n_out = tensors[x].shape[1]
                alpha, beta = float(attrs.get("alpha", 1.0)), float(attrs.get("beta", 1.0))
                c = consts[bias_name].astype(np.float64) if bias_name else np.zeros(n_out)
                c = np.broadcast_to(beta * c, tensors[x].shape)[0]
                w = alpha * w * (scale[None, :] if not attrs.get("transB", 0) else scale[:, None])
                b = c * scale + shift
                attrs.update(alpha=1.0, beta=1.0)
            wn = new_const(consts, tensors, f"{prod.name}_W_bnfold", w.astype(np.float32))
            bname = new_const(consts, tensors, f"{prod.name}_B_bnfold", b.astype(np.float32))
            new_prod = replace_node(prod, inputs=(prod.inputs[0], wn, bname), outputs=(bn.outputs[0],), attrs=attrs)
            nodes = [new_prod if n is prod else n for n in nodes if n is not bn]
            del tensors[x]
        else:
            rank = len(tensors[x].shape)
            shape = (-1,) + (1,) * (rank - 2)
            sn = new_const(consts, tensors, f"{bn.name}_scale", scale.astype(np.float32).reshape(shape))
            bname = new_const(consts, tensors, f"{bn.name}_shift", shift.astype(np.float32).reshape(shape))
            mid = new_const({}, tensors, f"{bn.name}_scaled", np.zeros(0))
            tensors[mid] = dataclasses.replace(tensors[x], name=mid)
            mul = Node(f"{bn.name}_mul", "Mul", (x, sn), (mid,))
            add = Node(f"{bn.name}_add", "Add", (mid, bname), (bn.outputs[0],))
            i = nodes.index(bn)
            nodes[i:i + 1] = [mul, add]
        graph = prune(replace_graph(graph, nodes=nodes, constants=consts, tensors=tensors))
    return graph


def canonicalize(graph: Graph) -> Graph:
    """Rewrite shape-only ops on activations to Reshape (Squeeze, Unsqueeze) and a ReduceMean over
    the two spatial axes of an NCHW tensor to GlobalAveragePool (+ Reshape when keepdims = 0)."""
    consts, tensors = dict(graph.constants), dict(graph.tensors)
    nodes = []
    for n in graph.nodes:
        if n.domain == "" and n.op in ("Squeeze", "Unsqueeze"):
            shape = np.array(tensors[n.outputs[0]].shape, np.int64)
            sn = new_const(consts, tensors, f"{n.name}_shape", shape)
            n = Node(n.name, "Reshape", (n.inputs[0], sn), n.outputs[:1])
        elif n.domain == "" and n.op == "ReduceMean":
            rank = len(tensors[n.inputs[0]].shape)
            axes = n.attrs.get("axes")
            if axes is None and len(n.inputs) > 1 and n.inputs[1] in consts:
                axes = tuple(int(a) for a in consts[n.inputs[1]].reshape(-1))
            extra = set(n.attrs) - {"axes", "keepdims", "noop_with_empty_axes"}
            if rank == 4 and axes is not None and sorted(a % 4 for a in axes) == [2, 3] and not extra:
                if n.attrs.get("keepdims", 1):
                    n = Node(n.name, "GlobalAveragePool", n.inputs[:1], n.outputs[:1])
                else:
                    mid = f"{n.outputs[0]}_keepdims"
                    t = tensors[n.inputs[0]]
                    tensors[mid] = TensorInfo(mid, t.shape[:2] + (1, 1), t.dtype)
                    sn = new_const(consts, tensors, f"{n.name}_shape", np.array(tensors[n.outputs[0]].shape, np.int64))
                    nodes.append(Node(n.name, "GlobalAveragePool", n.inputs[:1], (mid,)))
                    n = Node(f"{n.name}_reshape", "Reshape", (mid, sn), n.outputs[:1])
        nodes.append(n)
    return prune(replace_graph(graph, nodes=nodes, constants=consts, tensors=tensors))


def simplify_reshapes(graph: Graph) -> Graph:
    """Merge chains of Reshape/Flatten (the inner one read only by the outer) into one Reshape and
    drop a Reshape that keeps the shape."""
    for name in [n.name for n in graph.nodes if n.op in ("Reshape", "Flatten")]:
        n = graph.node(name)
        x = n.inputs[0]
        out_shape = graph.tensors[n.outputs[0]].shape
        inner = graph.producer(x)
        if inner is not None and inner.op in ("Reshape", "Flatten") and use_counts(graph).get(x, 0) == 1 \
                and x not in {t.name for t in graph.outputs}:
            merged = Node(n.name, "Reshape", inner.inputs[:1], n.outputs, frozen_map({"shape": out_shape}))
            nodes = [merged if m is n else m for m in graph.nodes if m is not inner]
            graph = replace_graph(graph, nodes=nodes, tensors={k: v for k, v in graph.tensors.items() if k != x})
            n, x = merged, merged.inputs[0]
        io = {t.name for t in graph.inputs} | {t.name for t in graph.outputs}
        if graph.tensors[x].shape == out_shape and not (n.outputs[0] in io and x in io):
            graph = bypass(graph, n, x, n.outputs[0])
    return graph


def matmul_to_gemm(graph: Graph) -> Graph:
    """MatMul of a 2-D activation by a constant 2-D matrix becomes Gemm(transB=1) with a zero bias,
    so fully connected layers have one form ([N, K] weights, [N] bias)."""
    consts, tensors = dict(graph.constants), dict(graph.tensors)
    nodes = []
    for n in graph.nodes:
        if (n.op == "MatMul" and n.inputs[1] in consts and consts[n.inputs[1]].ndim == 2
                and n.inputs[0] not in consts and len(tensors[n.inputs[0]].shape) == 2):
            w = np.ascontiguousarray(consts[n.inputs[1]].T.astype(np.float32))
            wn = new_const(consts, tensors, f"{n.name}_B", w)
            cn = new_const(consts, tensors, f"{n.name}_C", np.zeros(w.shape[0], np.float32))
            attrs = {"alpha": 1.0, "beta": 1.0, "transA": 0, "transB": 1}
            if "activation" in n.attrs:
                attrs["activation"] = n.attrs["activation"]
            n = Node(n.name, "Gemm", (n.inputs[0], wn, cn), n.outputs, frozen_map(attrs))
        nodes.append(n)
    return prune(replace_graph(graph, nodes=nodes, constants=consts, tensors=tensors))


def fuse_bias_add(graph: Graph) -> Graph:
    """Gemm (constant weights) followed by Add of a constant [N] / [1, N] vector: add it to the bias."""
    for add_name in [n.name for n in graph.nodes if n.op == "Add" and "activation" not in n.attrs]:
        add = graph.node(add_name)
        uses = use_counts(graph)
        for k in (0, 1):
            src, other = add.inputs[k], add.inputs[1 - k]
            prod = graph.producer(src)
            if (prod is None or prod.op != "Gemm" or prod.attrs.get("transB") != 1 or "activation" in prod.attrs
                    or other not in graph.constants or uses.get(src, 0) != 1
                    or prod.inputs[2] not in graph.constants or prod.inputs[1] not in graph.constants):
                continue
            n_out = graph.tensors[src].shape[-1]
            v = graph.constants[other]
            if v.size != n_out or v.shape not in ((n_out,), (1, n_out)):
                continue
            consts, tensors = dict(graph.constants), dict(graph.tensors)
            c = (consts[prod.inputs[2]] + v.reshape(-1)).astype(np.float32)
            cn = new_const(consts, tensors, f"{prod.name}_C_fused", c)
            new = replace_node(prod, inputs=(prod.inputs[0], prod.inputs[1], cn), outputs=add.outputs)
            del tensors[src]
            nodes = [new if n is prod else n for n in graph.nodes if n is not add]
            graph = prune(replace_graph(graph, nodes=nodes, constants=consts, tensors=tensors))
            break
    return graph


def fuse_activations(graph: Graph) -> Graph:
    """Fuse an activation into its producer (Conv/Gemm/MatMul/Add) when the activation is the
    producer's only consumer and the intermediate tensor is not a graph output."""
    for act_name in [n.name for n in graph.nodes if n.op in ACTIVATIONS and n.domain == ""]:
        act = graph.node(act_name)
        x = act.inputs[0]
        prod = graph.producer(x)
        uses = use_counts(graph)
        if prod is None or prod.op not in FUSE_INTO or "activation" in prod.attrs or uses.get(x, 0) != 1:
            continue
        attrs = dict(prod.attrs)
        attrs["activation"] = activation_of(act)
        new = replace_node(prod, outputs=(act.outputs[0],), attrs=attrs)
        tensors = {k: v for k, v in graph.tensors.items() if k != x}
        nodes = [new if n is prod else n for n in graph.nodes if n is not act]
        graph = replace_graph(graph, nodes=nodes, tensors=tensors)
    return graph
