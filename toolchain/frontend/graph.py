"""Front end: load an ONNX model (PyTorch, tf2onnx, skl2onnx) into the IR and normalise it.

`load_model` reads the model, fixes the batch to 1, optionally cuts it at `outputs`, then runs
`PASSES`, a flat list of pure `Graph -> Graph` passes with `verify` between them:

    check_ops         every op is supported, foldable or removable (one error listing all others)
    infer_shapes      onnx shape inference (strict), every tensor gets a static shape
    fold_constants    nodes whose inputs are all constant (and Shape of a static tensor) are evaluated
    infer_shapes      again: folded Reshape/Pad/... now have constant operands
    remove_identity   Identity, Dropout (inference), Cast to the same dtype
    absorb_qdq        activation QuantizeLinear->DequantizeLinear pairs removed, scales kept in
                      Graph.source_qparams (DQ of constant weights was already folded to float);
                      a range starting at 0 after Conv/Gemm/MatMul/Add becomes Clip(0, max), the
                      Relu the quantizer folded into the saturation
    fold_batchnorm    BatchNormalization into the preceding Conv/Gemm, else into Mul+Add
    canonicalize      Squeeze/Unsqueeze of activations -> Reshape, spatial ReduceMean -> GlobalAveragePool
    normalize_attrs   every supported node gets explicit, opset-independent attributes (table OPS)
    simplify_reshapes Reshape/Flatten chains merged, shape-preserving Reshape removed
    matmul_to_gemm    MatMul(2-D activation, constant 2-D weight) -> Gemm(transB=1) with zero bias
    fuse_bias_add     Gemm followed by Add(constant [N]) -> bias of the Gemm
    fuse_activations  Relu/Clip/LeakyRelu/Sigmoid/HardSigmoid/HardSwish into the producer
    prune             drop nodes, constants and tensors nothing reads
    check_supported   only ops of OPS remain

Normalised attributes (what codegen reads; ONNX layout NCHW, batch 1):
    Conv        inputs (X, W, B) with B always present (zeros if the model had none);
                kernel_shape (kh, kw), strides (sh, sw), pads (top, left, bottom, right),
                dilations (1, 1), group
    Gemm        inputs (A, B, C); alpha, beta, transA, transB. With a constant B the front end
                folds alpha into B, beta into C, stores B as [N, K] (transB=1) and C as [N]
                (so alpha = beta = 1, transA = 0).
    MatMul      none (both operands activations, or batched).
    Add, Mul    none (numpy broadcasting; a constant operand stays an input).
    Relu, Sigmoid, HardSwish: none. LeakyRelu: alpha. HardSigmoid: alpha, beta.
    Clip        min, max as floats (-inf/inf when absent); input (X,) only.
    MaxPool     kernel_shape, strides, pads (t, l, b, r), dilations, ceil_mode
    AveragePool kernel_shape, strides, pads (t, l, b, r), ceil_mode, count_include_pad
    GlobalAveragePool: none.  Flatten: axis (>= 0).  Transpose: perm.  Concat: axis (>= 0).
    Reshape     shape: the explicit output shape (no 0 / -1); input (X,) only.
    Softmax     axis (>= 0, opset-13 semantics: softmax along that one axis).
    Pad         mode ("constant" | "reflect" | "edge"), pads (x1_begin, x2_begin, ..., x1_end, ...)
                for every axis, value (float); input (X,) only.
    QuantizeLinear / DequantizeLinear (unpaired ones only): axis (>= 0); inputs as in ONNX.
    A fused activation is attrs["activation"] on Conv/Gemm/MatMul/Add (see mcuforge.core.ir.Node).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import numpy as np
import onnx
from onnx import helper, numpy_helper

from mcuforge.core.errors import McufError
from mcuforge.core.ir import Graph, Node, QuantParams, TensorInfo, frozen_map

Pass = Callable[[Graph], Graph]
ML_DOMAIN = "ai.onnx.ml"
MIN_OPSET = 7

# Ops that must vanish before codegen: evaluated at compile time when all their inputs are constant
# (PyTorch's Shape->Gather->Unsqueeze->Concat->Reshape chains, DequantizeLinear of weights, ...).
FOLDABLE = frozenset("""Constant Shape Size Gather Unsqueeze Squeeze Cast CastLike Slice ConstantOfShape
Range Div Sub Neg Floor Ceil Sqrt Pow Reciprocal Exp Log Abs Equal Less Greater Not And Or Where Expand
Tile ReduceProd ReduceSum ReduceMin ReduceMax Min Max Split Identity Transpose Reshape Concat Mul Add
QuantizeLinear DequantizeLinear Flatten MatMul Gemm""".split())
# Ops removed or rewritten by passes (Identity, Dropout and same-dtype Cast; BN folded; Squeeze/
# Unsqueeze as Reshape; spatial ReduceMean as GlobalAveragePool, tf2onnx's Keras pooling).
REMOVABLE = frozenset({"Identity", "Dropout", "Cast", "BatchNormalization", "Squeeze", "Unsqueeze", "ReduceMean"})
ACTIVATIONS = ("Relu", "Clip", "LeakyRelu", "Sigmoid", "HardSigmoid", "HardSwish")
FUSE_INTO = frozenset({"Conv", "Gemm", "MatMul", "Add"})


# ---------------------------------------------------------------------------------------------
# small helpers


def _err_node(node: Node, msg: str) -> McufError:
    return McufError(f"node '{node.name}' ({node.op}): {msg}")


def _replace(node: Node, **changes: Any) -> Node:
    if "attrs" in changes:
        changes["attrs"] = frozen_map(changes["attrs"])
    return dataclasses.replace(node, **changes)


def _with(graph: Graph, **changes: Any) -> Graph:
    for key in ("tensors", "constants", "source_qparams"):
        if key in changes:
            changes[key] = frozen_map(changes[key])
    for key in ("nodes", "inputs", "outputs"):
        if key in changes:
            changes[key] = tuple(changes[key])
    return dataclasses.replace(graph, **changes)


def _dtype_name(elem_type: int) -> str:
    if not elem_type:
        return "float32"  # undefined in the model; shape inference fills in the real type
    return np.dtype(helper.tensor_dtype_to_np_dtype(elem_type)).name


def _elem_type(dtype: str) -> int:
    return helper.np_dtype_to_tensor_dtype(_np_dtype(dtype))


def _np_dtype(name: str) -> np.dtype:
    try:
        return np.dtype(name)
    except TypeError:
        import ml_dtypes  # int4/int2/float8 names live there

        return np.dtype(getattr(ml_dtypes, name))


def _attr_value(a: onnx.AttributeProto) -> Any:
    v = helper.get_attribute_value(a)
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, onnx.TensorProto):
        return numpy_helper.to_array(v)
    if isinstance(v, list):
        return tuple(x.decode() if isinstance(x, bytes) else x for x in v)
    return v


def _to_attribute(name: str, v: Any) -> onnx.AttributeProto:
    if isinstance(v, np.ndarray):
        return helper.make_attribute(name, numpy_helper.from_array(v))
    if isinstance(v, tuple):
        v = list(v)
    return helper.make_attribute(name, v)


def _pad_pairs(pads: Iterable[int]) -> tuple[int, ...]:
    return tuple(int(p) for p in pads)


def _use_counts(graph: Graph) -> dict[str, int]:
    counts: dict[str, int] = {}
    for n in graph.nodes:
        for t in n.inputs:
            counts[t] = counts.get(t, 0) + 1
    for t in graph.outputs:
        counts[t.name] = counts.get(t.name, 0) + 1
    return counts


def rename_tensors(graph: Graph, mapping: Mapping[str, str]) -> Graph:
    """Rename tensors everywhere (node inputs/outputs, graph inputs/outputs, tensors, constants)."""
    if not mapping:
        return graph

    def r(t: str) -> str:
        return mapping.get(t, t)

    nodes = [_replace(n, inputs=tuple(map(r, n.inputs)), outputs=tuple(map(r, n.outputs))) for n in graph.nodes]
    return _with(
        graph,
        nodes=nodes,
        inputs=[dataclasses.replace(t, name=r(t.name)) for t in graph.inputs],
        outputs=[dataclasses.replace(t, name=r(t.name)) for t in graph.outputs],
        tensors={r(k): dataclasses.replace(v, name=r(k)) for k, v in graph.tensors.items()},
        constants={r(k): v for k, v in graph.constants.items()},
        source_qparams={r(k): v for k, v in graph.source_qparams.items()},
    )


def _bypass(graph: Graph, node: Node, src: str, dst: str) -> Graph:
    """Remove `node`, which computes `dst` as an alias of `src`, keeping graph output names."""
    graph = _with(graph, nodes=[n for n in graph.nodes if n is not node])
    outputs = {t.name for t in graph.outputs}
    inputs = {t.name for t in graph.inputs}
    if dst in outputs:
        if src in inputs or src in graph.constants or src in outputs:
            raise _err_node(node, f"cannot remove: graph output '{dst}' would alias input/constant/output '{src}'")
        # the producer of src writes dst directly
        return rename_tensors(graph, {src: dst})
    nodes = [_replace(n, inputs=tuple(src if t == dst else t for t in n.inputs)) for n in graph.nodes]
    tensors = {k: v for k, v in graph.tensors.items() if k != dst}
    return _with(graph, nodes=nodes, tensors=tensors)


# ---------------------------------------------------------------------------------------------
# import


def _fix_input_shape(vi: onnx.ValueInfoProto) -> tuple[int, ...]:
    t = vi.type.tensor_type
    if not vi.type.HasField("tensor_type") or not t.HasField("shape"):
        raise McufError(f"model input '{vi.name}' has no shape; export the model with a static input shape")
    dims = []
    for i, d in enumerate(t.shape.dim):
        if d.HasField("dim_value") and d.dim_value > 0:
            dims.append(d.dim_value)
        elif i == 0:
            dims.append(1)  # the batch: mcuforge runs one sample at a time
        else:
            raise McufError(
                f"model input '{vi.name}' has a dynamic dimension {i} ('{d.dim_param or '?'}'); only the batch "
                "(dimension 0) may be dynamic: export the model with a static shape"
            )
    return tuple(dims)


def from_onnx(model: onnx.ModelProto) -> Graph:
    """The raw IR of an ONNX model: nodes with their ONNX attributes, batch fixed to 1, no shapes yet
    except the inputs'. Unnamed (or duplicate-named) nodes are named `<op>_<index>`."""
    g = model.graph
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    if opset < MIN_OPSET:
        raise McufError(
            f"model uses ONNX opset {opset}; mcuforge reads opset {MIN_OPSET} or later: convert it with "
            "onnx.version_converter.convert_version(model, 13)"
        )
    constants: dict[str, np.ndarray] = {init.name: numpy_helper.to_array(init) for init in g.initializer}
    for sparse in g.sparse_initializer:
        raise McufError(f"sparse initializer '{sparse.values.name}' is not supported")
    tensors: dict[str, TensorInfo] = {}
    inputs = []
    for vi in g.input:
        if vi.name in constants:
            continue  # old exporters list initializers as inputs too
        shape = _fix_input_shape(vi)
        ti = TensorInfo(vi.name, shape, _dtype_name(vi.type.tensor_type.elem_type))
        inputs.append(ti)
        tensors[vi.name] = ti
    for name, value in constants.items():
        tensors[name] = TensorInfo(name, tuple(value.shape), value.dtype.name)
    outputs = [TensorInfo(o.name, (), _dtype_name(o.type.tensor_type.elem_type)) for o in g.output]

    nodes, seen = [], set()
    for i, n in enumerate(g.node):
        name = n.name
        if not name or name in seen:
            name = f"{n.op_type}_{i}"
            k = 1
            while name in seen:
                name, k = f"{n.op_type}_{i}_{k}", k + 1
        seen.add(name)
        attrs = {a.name: _attr_value(a) for a in n.attribute}
        domain = "" if n.domain == "ai.onnx" else n.domain
        nodes.append(Node(name, n.op_type, tuple(n.input), tuple(n.output), frozen_map(attrs), domain))
    return Graph(
        name=g.name or "model",
        nodes=tuple(nodes),
        inputs=tuple(inputs),
        outputs=tuple(outputs),
        tensors=frozen_map(tensors),
        constants=frozen_map(constants),
        opset=opset,
    )


def raw_to_onnx(graph: Graph, with_shapes: bool = False) -> onnx.ModelProto:
    """Write a raw (not yet normalised) graph back to ONNX at its own opset, for shape inference and
    constant evaluation. Normalised graphs go through mcuforge.frontend.to_onnx.to_onnx instead."""
    nodes = [helper.make_node(n.op, list(n.inputs), list(n.outputs), name=n.name, domain=n.domain)
             for n in graph.nodes]
    for proto, n in zip(nodes, graph.nodes):
        proto.attribute.extend(_to_attribute(k, v) for k, v in n.attrs.items())

    def vi(t: TensorInfo, shaped: bool) -> onnx.ValueInfoProto:
        return helper.make_tensor_value_info(t.name, _elem_type(t.dtype), list(t.shape) if shaped else None)

    inits = [numpy_helper.from_array(np.asarray(v), k) for k, v in graph.constants.items()]
    value_info = []
    if with_shapes:
        io = {t.name for t in graph.inputs} | {t.name for t in graph.outputs} | set(graph.constants)
        value_info = [vi(t, True) for k, t in graph.tensors.items() if k not in io]
    g = helper.make_graph(
        nodes, graph.name, [vi(t, True) for t in graph.inputs],
        [vi(graph.tensors.get(t.name, t), with_shapes and t.name in graph.tensors) for t in graph.outputs],
        inits, value_info=value_info,
    )
    opsets = [helper.make_opsetid("", graph.opset)]
    if any(n.domain == ML_DOMAIN for n in graph.nodes):
        opsets.append(helper.make_opsetid(ML_DOMAIN, 3))
    for d in sorted({n.domain for n in graph.nodes} - {"", ML_DOMAIN}):
        opsets.append(helper.make_opsetid(d, 1))
    m = helper.make_model(g, opset_imports=opsets, producer_name="mcuforge")
    m.ir_version = min(m.ir_version, 10)
    return m


# ---------------------------------------------------------------------------------------------
# cutting and pruning


def prune(graph: Graph) -> Graph:
    """Keep only what the graph outputs depend on."""
    needed = {t.name for t in graph.outputs}
    keep = []
    for n in reversed(graph.nodes):
        if any(o in needed for o in n.outputs):
            keep.append(n)
            needed.update(i for i in n.inputs if i)
    keep.reverse()
    used = needed | {t.name for t in graph.inputs}
    for n in keep:
        used.update(n.outputs)
    return _with(
        graph,
        nodes=keep,
        constants={k: v for k, v in graph.constants.items() if k in used},
        tensors={k: v for k, v in graph.tensors.items() if k in used},
        source_qparams={k: v for k, v in graph.source_qparams.items() if k in used},
    )


def cut_outputs(graph: Graph, outputs: Iterable[str]) -> Graph:
    """Make `outputs` the graph outputs and drop every node they do not depend on."""
    names = list(outputs)
    produced = {o: n for n in graph.nodes for o in n.outputs}
    known = set(produced) | {t.name for t in graph.inputs}
    missing = [o for o in names if o not in known]
    if missing:
        sample = ", ".join(sorted(produced)[:30])
        raise McufError(f"--outputs: no tensor named {', '.join(map(repr, missing))} in the model; "
                        f"node outputs are: {sample}")
    outs = [graph.tensors.get(o, TensorInfo(o, (), "float32")) for o in names]
    return prune(_with(graph, outputs=outs))


# ---------------------------------------------------------------------------------------------
# passes


def _unsupported_error(graph: Graph, bad: list[Node], why: str) -> McufError:
    lines = [f"  - {n.name}: {n.op} (domain '{n.domain or 'ai.onnx'}')" for n in bad]
    msg = f"{len(bad)} unsupported node(s) {why}:\n" + "\n".join(lines)
    suggestion = _suggest_outputs(graph, bad)
    if suggestion:
        msg += (f"\nThe unsupported nodes look like post-processing: compile the part before them with "
                f"--outputs {','.join(suggestion)}")
    supported = ", ".join(sorted(OPS))
    return McufError(msg + f"\nSupported ops: {supported}")


def _suggest_outputs(graph: Graph, bad: list[Node]) -> list[str]:
    """Tensors feeding the unsupported nodes from the supported part, if cutting there leaves no
    unsupported node behind."""
    bad_names = {n.name for n in bad}
    downstream: set[str] = set()  # tensors computed from an unsupported node's output
    for n in graph.nodes:
        if n.name in bad_names or any(i in downstream for i in n.inputs):
            downstream.update(n.outputs)
    cut = []
    for n in bad:
        for i in n.inputs:
            if i and i not in downstream and i not in graph.constants and i not in cut:
                cut.append(i)
    if not cut:
        return []
    try:
        part = cut_outputs(graph, cut)
    except McufError:
        return []
    if any(n.name in bad_names for n in part.nodes) or not part.nodes:
        return []
    return cut


def check_ops(graph: Graph) -> Graph:
    """Reject, in one error, every node that is neither supported, foldable nor removable."""
    bad = [
        n for n in graph.nodes
        if n.domain not in ("",) or not (n.op in OPS or n.op in FOLDABLE or n.op in REMOVABLE)
    ]
    if bad:
        raise _unsupported_error(graph, bad, "in the model")
    return graph


def check_supported(graph: Graph) -> Graph:
    """After normalisation only ops of the table OPS may remain."""
    bad = [n for n in graph.nodes if n.domain != "" or n.op not in OPS]
    if bad:
        raise _unsupported_error(graph, bad, "left after constant folding (their inputs are not constant)")
    return graph


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
        dtype = _dtype_name(tt.elem_type) if tt.elem_type else None
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
    return _with(
        graph, tensors=tensors,
        inputs=[tensors[t.name] for t in graph.inputs],
        outputs=[tensors[t.name] for t in graph.outputs],
    )


def _evaluate(graph: Graph, node: Node, values: Mapping[str, np.ndarray]) -> list[np.ndarray]:
    from onnx.reference import ReferenceEvaluator

    proto = helper.make_node(node.op, list(node.inputs), list(node.outputs), domain=node.domain)
    proto.attribute.extend(_to_attribute(k, v) for k, v in node.attrs.items())
    opsets = {"": graph.opset}
    if node.domain:
        opsets[node.domain] = 3 if node.domain == ML_DOMAIN else 1
    try:
        ev = ReferenceEvaluator(proto, opsets=opsets)
        return list(ev.run(None, {i: values[i] for i in node.inputs if i}))
    except Exception as e:
        raise _err_node(node, f"constant folding failed: {e}") from None


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
    return prune(_with(graph, nodes=nodes, constants=consts, tensors=tensors))


def remove_identity(graph: Graph) -> Graph:
    """Remove Identity, Dropout (inference) and Cast to the dtype the tensor already has."""
    for name in [n.name for n in graph.nodes if n.op in ("Identity", "Dropout", "Cast")]:
        n = graph.node(name)  # passes rebuild nodes: always look up the current one
        if n.op == "Identity":
            graph = _bypass(graph, n, n.inputs[0], n.outputs[0])
        elif n.op == "Dropout":
            if len(n.outputs) > 1 and n.outputs[1] and graph.consumers(n.outputs[1]):
                raise _err_node(n, "the dropout mask output is used; only inference-mode Dropout is supported")
            if len(n.inputs) > 2 and n.inputs[2]:
                mode = graph.constants.get(n.inputs[2])
                if mode is None or bool(mode):
                    raise _err_node(n, "training_mode must be a constant false")
            graph = _bypass(graph, n, n.inputs[0], n.outputs[0])
        elif n.op == "Cast":
            src, dst = graph.tensors.get(n.inputs[0]), graph.tensors.get(n.outputs[0])
            if src is not None and dst is not None and src.dtype == dst.dtype:
                graph = _bypass(graph, n, n.inputs[0], n.outputs[0])
    return graph


def _qparams_from(graph: Graph, node: Node) -> QuantParams:
    scale = graph.constants.get(node.inputs[1])
    if scale is None:
        raise _err_node(node, f"scale '{node.inputs[1]}' must be a constant")
    zp_name = node.inputs[2] if len(node.inputs) > 2 else ""
    if zp_name:
        if zp_name not in graph.constants:
            raise _err_node(node, f"zero point '{zp_name}' must be a constant")
        zp = graph.constants[zp_name]
    else:
        zp = np.zeros(np.shape(scale), np.uint8)
    dt = zp.dtype.name
    bits = {"int8": 8, "uint8": 8, "int16": 16, "uint16": 16, "int4": 4, "uint4": 4, "int2": 2, "uint2": 2}.get(dt)
    if bits is None:
        raise _err_node(node, f"zero point dtype {dt} is not an integer type mcuforge reads")
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
    new_prod = _replace(prod, outputs=tuple(pre if o == x else o for o in prod.outputs))
    clip = Node(f"{prod.name}_saturation", "Clip", (pre,), (x,), frozen_map({"min": lo, "max": hi}))
    nodes = []
    for n in graph.nodes:
        nodes += [new_prod, clip] if n is prod else [n]
    return _with(graph, nodes=nodes, tensors=tensors)


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
        graph = _with(graph, nodes=[n for n in graph.nodes if n is not q],
                      source_qparams={**graph.source_qparams, x: qp})
        graph = _keep_saturation(graph, x, qp)
        for dq_name in [u.name for u in users]:
            dq = graph.node(dq_name)
            graph = _bypass(graph, dq, x, dq.outputs[0])
            if dq.outputs[0] in {t.name for t in graph.outputs}:
                x = dq.outputs[0]  # _bypass renamed x to the graph output it feeds
    return graph


def _bn_params(graph: Graph, bn: Node) -> tuple[np.ndarray, np.ndarray]:
    """(scale, shift) per channel of an inference BatchNormalization."""
    allowed = {"epsilon", "momentum", "training_mode", "spatial", "is_test", "consumed_inputs"}
    for k in bn.attrs:
        if k not in allowed:
            raise _err_node(bn, f"unknown attribute '{k}'")
    if bn.attrs.get("training_mode", 0):
        raise _err_node(bn, "attribute 'training_mode' = 1: export the model in eval mode")
    if bn.attrs.get("spatial", 1) != 1:
        raise _err_node(bn, "attribute 'spatial' = 0 is not supported")
    for extra in bn.outputs[1:]:
        if extra and graph.consumers(extra):
            raise _err_node(bn, f"training output '{extra}' is used")
    vals = []
    for t in bn.inputs[1:5]:
        if t not in graph.constants:
            raise _err_node(bn, f"input '{t}' must be a constant")
        vals.append(graph.constants[t].astype(np.float64))
    gamma, beta, mean, var = vals
    eps = float(bn.attrs.get("epsilon", 1e-5))
    scale = gamma / np.sqrt(var + eps)
    return scale, beta - mean * scale


def _new_const(consts: dict, tensors: dict, name: str, value: np.ndarray) -> str:
    base, k = name, 1
    while name in consts or name in tensors:
        name, k = f"{base}_{k}", k + 1
    consts[name] = value
    tensors[name] = TensorInfo(name, tuple(value.shape), value.dtype.name)
    return name


def fold_batchnorm(graph: Graph) -> Graph:
    """Fold BatchNormalization into the preceding Conv/Gemm (constant weights, single consumer);
    any other BatchNormalization becomes Mul + Add with per-channel constants."""
    for bn_name in [n.name for n in graph.nodes if n.op == "BatchNormalization"]:
        bn = graph.node(bn_name)
        scale, shift = _bn_params(graph, bn)
        x = bn.inputs[0]
        prod = graph.producer(x)
        uses = _use_counts(graph)
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
            wn = _new_const(consts, tensors, f"{prod.name}_W_bnfold", w.astype(np.float32))
            bname = _new_const(consts, tensors, f"{prod.name}_B_bnfold", b.astype(np.float32))
            new_prod = _replace(prod, inputs=(prod.inputs[0], wn, bname), outputs=(bn.outputs[0],), attrs=attrs)
            nodes = [new_prod if n is prod else n for n in nodes if n is not bn]
            del tensors[x]
        else:
            rank = len(tensors[x].shape)
            shape = (-1,) + (1,) * (rank - 2)
            sn = _new_const(consts, tensors, f"{bn.name}_scale", scale.astype(np.float32).reshape(shape))
            bname = _new_const(consts, tensors, f"{bn.name}_shift", shift.astype(np.float32).reshape(shape))
            mid = _new_const({}, tensors, f"{bn.name}_scaled", np.zeros(0))
            tensors[mid] = dataclasses.replace(tensors[x], name=mid)
            mul = Node(f"{bn.name}_mul", "Mul", (x, sn), (mid,))
            add = Node(f"{bn.name}_add", "Add", (mid, bname), (bn.outputs[0],))
            i = nodes.index(bn)
            nodes[i:i + 1] = [mul, add]
        graph = prune(_with(graph, nodes=nodes, constants=consts, tensors=tensors))
    return graph


def canonicalize(graph: Graph) -> Graph:
    """Rewrite shape-only ops on activations to Reshape (Squeeze, Unsqueeze) and a ReduceMean over
    the two spatial axes of an NCHW tensor to GlobalAveragePool (+ Reshape when keepdims = 0)."""
    consts, tensors = dict(graph.constants), dict(graph.tensors)
    nodes = []
    for n in graph.nodes:
        if n.domain == "" and n.op in ("Squeeze", "Unsqueeze"):
            shape = np.array(tensors[n.outputs[0]].shape, np.int64)
            sn = _new_const(consts, tensors, f"{n.name}_shape", shape)
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
                    sn = _new_const(consts, tensors, f"{n.name}_shape", np.array(tensors[n.outputs[0]].shape, np.int64))
                    nodes.append(Node(n.name, "GlobalAveragePool", n.inputs[:1], (mid,)))
                    n = Node(f"{n.name}_reshape", "Reshape", (mid, sn), n.outputs[:1])
        nodes.append(n)
    return prune(_with(graph, nodes=nodes, constants=consts, tensors=tensors))


# --- attribute normalisation: the op table ------------------------------------------------------


@dataclass(frozen=True)
class OpSpec:
    """How the front end normalises one op: `normalize(node, graph) -> (node, new constants)`."""

    normalize: Callable[[Node, Graph], tuple[Node, dict[str, np.ndarray]]]


def _check_attrs(node: Node, allowed: Mapping[str, Any]) -> dict[str, Any]:
    """Attributes with defaults filled in; an unknown attribute is an error naming node and attribute."""
    for k in node.attrs:
        if k not in allowed:
            raise McufError(f"node '{node.name}' ({node.op}): unknown attribute '{k}' "
                            f"(mcuforge knows: {', '.join(sorted(allowed)) or 'none'})")
    out = dict(allowed)
    out.update(node.attrs)
    return out


def _shape(graph: Graph, t: str) -> tuple[int, ...]:
    return graph.tensors[t].shape


def _require_const(node: Node, graph: Graph, idx: int, what: str) -> np.ndarray:
    t = node.inputs[idx] if idx < len(node.inputs) else ""
    if not t or t not in graph.constants:
        raise _err_node(node, f"{what} (input {idx}, '{t}') must be a constant")
    return graph.constants[t]


def _resolve_pads(node: Node, a: dict, in_hw: tuple[int, int], kernel: tuple[int, int],
                  strides: tuple[int, int], dilations: tuple[int, int]) -> tuple[int, int, int, int]:
    mode = a.get("auto_pad", "NOTSET")
    if mode in ("NOTSET", ""):
        pads = a.get("pads") or (0, 0, 0, 0)
        if len(pads) != 4:
            raise _err_node(node, f"attribute 'pads' = {pads}: expected 4 values for a 2-D op")
        return _pad_pairs(pads)  # type: ignore[return-value]
    if mode == "VALID":
        return (0, 0, 0, 0)
    if mode not in ("SAME_UPPER", "SAME_LOWER"):
        raise _err_node(node, f"attribute 'auto_pad' = '{mode}' is not an ONNX value")
    begin, end = [], []
    for x, k, s, d in zip(in_hw, kernel, strides, dilations):
        out = -(-x // s)
        total = max((out - 1) * s + (k - 1) * d + 1 - x, 0)
        lo = total // 2 if mode == "SAME_UPPER" else total - total // 2
        begin.append(lo)
        end.append(total - lo)
    return (begin[0], begin[1], end[0], end[1])


def _norm_conv(node: Node, graph: Graph) -> tuple[Node, dict]:
    a = _check_attrs(node, {"auto_pad": "NOTSET", "dilations": None, "group": 1, "kernel_shape": None,
                            "pads": None, "strides": None})
    x_shape = _shape(graph, node.inputs[0])
    if len(x_shape) != 4:
        raise _err_node(node, f"only 2-D convolution (4-D input) is supported; input shape is {x_shape}")
    w = _require_const(node, graph, 1, "the weight")
    kernel = tuple(int(k) for k in w.shape[2:])
    if a["kernel_shape"] is not None and tuple(a["kernel_shape"]) != kernel:
        raise _err_node(node, f"attribute 'kernel_shape' = {a['kernel_shape']} disagrees with the weight {w.shape}")
    strides = tuple(a["strides"] or (1, 1))
    dil = tuple(a["dilations"] or (1, 1))
    if dil != (1, 1):
        raise _err_node(node, f"attribute 'dilations' = {dil}: only dilation 1 is supported")
    group = int(a["group"])
    if x_shape[1] != w.shape[1] * group or w.shape[0] % group:
        raise _err_node(node, f"attribute 'group' = {group} does not match input {x_shape} and weight {w.shape}")
    pads = _resolve_pads(node, a, x_shape[2:], kernel, strides, dil)  # type: ignore[arg-type]
    new = {}
    inputs = node.inputs[:2]
    if len(node.inputs) > 2 and node.inputs[2]:
        _require_const(node, graph, 2, "the bias")
        inputs = node.inputs[:3]
    else:
        bias = f"{node.name}_bias_zero"
        new[bias] = np.zeros(w.shape[0], np.float32)
        inputs = (*inputs, bias)
    attrs = {"kernel_shape": kernel, "strides": strides, "pads": pads, "dilations": dil, "group": group}
    if "activation" in node.attrs:
        attrs["activation"] = node.attrs["activation"]
    return _replace(node, inputs=inputs, attrs=attrs), new


def _norm_gemm(node: Node, graph: Graph) -> tuple[Node, dict]:
    a = _check_attrs(node, {"alpha": 1.0, "beta": 1.0, "transA": 0, "transB": 0})
    a_shape = _shape(graph, node.inputs[0])
    if len(a_shape) != 2:
        raise _err_node(node, f"input A must be 2-D, got {a_shape}")
    y_shape = _shape(graph, node.outputs[0])
    attrs = {"alpha": float(a["alpha"]), "beta": float(a["beta"]), "transA": int(a["transA"]),
             "transB": int(a["transB"])}
    new = {}
    inputs = node.inputs
    if node.inputs[1] in graph.constants and not attrs["transA"]:
        b = graph.constants[node.inputs[1]].astype(np.float32)
        b = b if attrs["transB"] else b.T
        n_out = b.shape[0]
        if len(node.inputs) > 2 and node.inputs[2]:
            c = _require_const(node, graph, 2, "the bias C").astype(np.float32)
            if c.size in (1, n_out) or c.shape == (1, n_out) or y_shape[0] == 1:
                c = np.broadcast_to(c.reshape(-1), (n_out,))
            else:  # a full [M, N] bias (rare; codegen adds it by accumulating into a copy)
                c = np.broadcast_to(c, tuple(y_shape))
        else:
            c = np.zeros(n_out, np.float32)
        wn, cn = f"{node.name}_B", f"{node.name}_C"
        new[wn] = np.ascontiguousarray(attrs["alpha"] * b, dtype=np.float32)
        new[cn] = np.ascontiguousarray(attrs["beta"] * c, dtype=np.float32)
        inputs = (node.inputs[0], wn, cn)
        attrs = {"alpha": 1.0, "beta": 1.0, "transA": 0, "transB": 1}
    if "activation" in node.attrs:
        attrs["activation"] = node.attrs["activation"]
    return _replace(node, inputs=inputs, attrs=attrs), new


def _no_attrs(node: Node, graph: Graph) -> tuple[Node, dict]:
    keep = {"activation": None} if node.op in FUSE_INTO else {}
    _check_attrs(node, keep)
    return node, {}


def _fixed_attrs(defaults: Mapping[str, Any]) -> Callable[[Node, Graph], tuple[Node, dict]]:
    def norm(node: Node, graph: Graph) -> tuple[Node, dict]:
        a = _check_attrs(node, defaults)
        return _replace(node, attrs={k: float(v) if isinstance(v, (int, float)) else v for k, v in a.items()}), {}

    return norm


def _norm_clip(node: Node, graph: Graph) -> tuple[Node, dict]:
    a = _check_attrs(node, {"min": None, "max": None})
    lo = a["min"] if a["min"] is not None else -np.inf
    hi = a["max"] if a["max"] is not None else np.inf
    if len(node.inputs) > 1 and node.inputs[1]:
        lo = float(_require_const(node, graph, 1, "min"))
    if len(node.inputs) > 2 and node.inputs[2]:
        hi = float(_require_const(node, graph, 2, "max"))
    return _replace(node, inputs=node.inputs[:1], attrs={"min": float(lo), "max": float(hi)}), {}


def _norm_pool(node: Node, graph: Graph) -> tuple[Node, dict]:
    if node.op == "MaxPool":
        allowed = {"auto_pad": "NOTSET", "ceil_mode": 0, "dilations": None, "kernel_shape": None, "pads": None,
                   "storage_order": 0, "strides": None}
    else:
        allowed = {"auto_pad": "NOTSET", "ceil_mode": 0, "count_include_pad": 0, "dilations": None,
                   "kernel_shape": None, "pads": None, "strides": None}
    a = _check_attrs(node, allowed)
    x_shape = _shape(graph, node.inputs[0])
    if len(x_shape) != 4:
        raise _err_node(node, f"only 2-D pooling (4-D input) is supported; input shape is {x_shape}")
    if len(node.outputs) > 1 and node.outputs[1]:
        raise _err_node(node, "the Indices output is not supported")
    kernel = tuple(int(k) for k in a["kernel_shape"])
    strides = tuple(a["strides"] or (1, 1))
    dil = tuple(a["dilations"] or (1, 1))
    if dil != (1, 1):
        raise _err_node(node, f"attribute 'dilations' = {dil}: only dilation 1 is supported")
    if a.get("storage_order", 0):
        raise _err_node(node, "attribute 'storage_order' = 1 is not supported")
    pads = _resolve_pads(node, a, x_shape[2:], kernel, strides, dil)  # type: ignore[arg-type]
    attrs = {"kernel_shape": kernel, "strides": strides, "pads": pads, "ceil_mode": int(a["ceil_mode"])}
    if node.op == "MaxPool":
        attrs["dilations"] = dil
    else:
        attrs["count_include_pad"] = int(a["count_include_pad"])
    return _replace(node, outputs=node.outputs[:1], attrs=attrs), {}


def _axis(node: Node, axis: int, rank: int, what: str = "axis") -> int:
    if not -rank <= axis < max(rank, 1):
        raise _err_node(node, f"attribute '{what}' = {axis} is out of range for rank {rank}")
    return axis % max(rank, 1)


def _norm_flatten(node: Node, graph: Graph) -> tuple[Node, dict]:
    a = _check_attrs(node, {"axis": 1})
    rank = len(_shape(graph, node.inputs[0]))
    axis = int(a["axis"])
    return _replace(node, attrs={"axis": axis % (rank + 1) if axis < 0 else axis}), {}


def _norm_reshape(node: Node, graph: Graph) -> tuple[Node, dict]:
    _check_attrs(node, {"allowzero": 0, "shape": None})  # 'shape' attribute: opset < 5
    if len(node.inputs) > 1:
        _require_const(node, graph, 1, "the target shape")
    return _replace(node, inputs=node.inputs[:1], attrs={"shape": _shape(graph, node.outputs[0])}), {}


def _norm_transpose(node: Node, graph: Graph) -> tuple[Node, dict]:
    a = _check_attrs(node, {"perm": None})
    rank = len(_shape(graph, node.inputs[0]))
    perm = tuple(int(p) for p in a["perm"]) if a["perm"] is not None else tuple(reversed(range(rank)))
    return _replace(node, attrs={"perm": perm}), {}


def _norm_concat(node: Node, graph: Graph) -> tuple[Node, dict]:
    a = _check_attrs(node, {"axis": None})
    if a["axis"] is None:
        raise _err_node(node, "attribute 'axis' is required")
    rank = len(_shape(graph, node.outputs[0]))
    return _replace(node, attrs={"axis": _axis(node, int(a["axis"]), rank)}), {}


def _norm_softmax(node: Node, graph: Graph) -> tuple[Node, dict]:
    a = _check_attrs(node, {"axis": 1 if graph.opset < 13 else -1})
    shape = _shape(graph, node.inputs[0])
    axis = _axis(node, int(a["axis"]), len(shape))
    # before opset 13 Softmax flattened [axis:] into one axis: same thing iff the trailing dims are 1
    if graph.opset < 13 and any(d != 1 for d in shape[axis + 1:]):
        raise _err_node(node, f"opset-{graph.opset} Softmax over the flattened dims {shape[axis:]} "
                              "is not supported; export with opset >= 13")
    return _replace(node, attrs={"axis": axis}), {}


def _norm_pad(node: Node, graph: Graph) -> tuple[Node, dict]:
    a = _check_attrs(node, {"mode": "constant", "pads": None, "value": 0.0})
    rank = len(_shape(graph, node.inputs[0]))
    pads, value = a["pads"], float(a["value"])
    if len(node.inputs) > 1:
        p = _require_const(node, graph, 1, "pads").astype(np.int64).reshape(-1)
        if len(node.inputs) > 3 and node.inputs[3]:
            axes = [int(x) % rank for x in _require_const(node, graph, 3, "axes").reshape(-1)]
            full = [0] * (2 * rank)
            for j, ax in enumerate(axes):
                full[ax], full[rank + ax] = int(p[j]), int(p[len(axes) + j])
            p = np.array(full)
        pads = tuple(int(x) for x in p)
        if len(node.inputs) > 2 and node.inputs[2]:
            value = float(_require_const(node, graph, 2, "constant_value").reshape(-1)[0])
    if pads is None or len(pads) != 2 * rank:
        raise _err_node(node, f"'pads' = {pads}: expected {2 * rank} values")
    if any(p < 0 for p in pads):
        raise _err_node(node, f"'pads' = {pads}: negative pads (cropping) are not supported")
    if a["mode"] not in ("constant", "reflect", "edge"):
        raise _err_node(node, f"attribute 'mode' = '{a['mode']}' is not supported")
    return _replace(node, inputs=node.inputs[:1], attrs={"mode": a["mode"], "pads": pads, "value": value}), {}


def _norm_qdq(node: Node, graph: Graph) -> tuple[Node, dict]:
    a = _check_attrs(node, {"axis": 1, "saturate": 1, "block_size": 0, "output_dtype": 0, "precision": 0})
    if a["block_size"]:
        raise _err_node(node, f"attribute 'block_size' = {a['block_size']}: blocked quantization is not supported")
    rank = len(_shape(graph, node.inputs[0]))
    attrs = {"axis": _axis(node, int(a["axis"]), rank) if rank else 0}
    for k in ("output_dtype", "saturate"):
        if k in node.attrs:
            attrs[k] = int(node.attrs[k])
    return _replace(node, attrs=attrs), {}


OPS: dict[str, OpSpec] = {
    "Conv": OpSpec(_norm_conv),
    "Gemm": OpSpec(_norm_gemm),
    "MatMul": OpSpec(_no_attrs),
    "Add": OpSpec(_no_attrs),
    "Mul": OpSpec(_no_attrs),
    "Relu": OpSpec(_no_attrs),
    "Sigmoid": OpSpec(_no_attrs),
    "HardSwish": OpSpec(_no_attrs),
    "Clip": OpSpec(_norm_clip),
    "LeakyRelu": OpSpec(_fixed_attrs({"alpha": 0.01})),
    "HardSigmoid": OpSpec(_fixed_attrs({"alpha": 0.2, "beta": 0.5})),
    "MaxPool": OpSpec(_norm_pool),
    "AveragePool": OpSpec(_norm_pool),
    "GlobalAveragePool": OpSpec(_no_attrs),
    "Flatten": OpSpec(_norm_flatten),
    "Reshape": OpSpec(_norm_reshape),
    "Transpose": OpSpec(_norm_transpose),
    "Concat": OpSpec(_norm_concat),
    "Softmax": OpSpec(_norm_softmax),
    "Pad": OpSpec(_norm_pad),
    "QuantizeLinear": OpSpec(_norm_qdq),
    "DequantizeLinear": OpSpec(_norm_qdq),
}


def normalize_attrs(graph: Graph) -> Graph:
    """Give every supported node explicit, validated attributes (see the module docstring)."""
    consts, tensors = dict(graph.constants), dict(graph.tensors)
    nodes = []
    for n in graph.nodes:
        if n.domain == "" and n.op in OPS:
            n, new = OPS[n.op].normalize(n, graph)
            renames = {}
            for name, value in new.items():
                renames[name] = _new_const(consts, tensors, name, value)
            if renames:
                n = _replace(n, inputs=tuple(renames.get(i, i) for i in n.inputs))
        nodes.append(n)
    return prune(_with(graph, nodes=nodes, constants=consts, tensors=tensors))


def simplify_reshapes(graph: Graph) -> Graph:
    """Merge chains of Reshape/Flatten (the inner one read only by the outer) into one Reshape and
    drop a Reshape that keeps the shape."""
    for name in [n.name for n in graph.nodes if n.op in ("Reshape", "Flatten")]:
        n = graph.node(name)
        x = n.inputs[0]
        out_shape = graph.tensors[n.outputs[0]].shape
        inner = graph.producer(x)
        if inner is not None and inner.op in ("Reshape", "Flatten") and _use_counts(graph).get(x, 0) == 1 \
                and x not in {t.name for t in graph.outputs}:
            merged = Node(n.name, "Reshape", inner.inputs[:1], n.outputs, frozen_map({"shape": out_shape}))
            nodes = [merged if m is n else m for m in graph.nodes if m is not inner]
            graph = _with(graph, nodes=nodes, tensors={k: v for k, v in graph.tensors.items() if k != x})
            n, x = merged, merged.inputs[0]
        io = {t.name for t in graph.inputs} | {t.name for t in graph.outputs}
        if graph.tensors[x].shape == out_shape and not (n.outputs[0] in io and x in io):
            graph = _bypass(graph, n, x, n.outputs[0])
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
            wn = _new_const(consts, tensors, f"{n.name}_B", w)
            cn = _new_const(consts, tensors, f"{n.name}_C", np.zeros(w.shape[0], np.float32))
            attrs = {"alpha": 1.0, "beta": 1.0, "transA": 0, "transB": 1}
            if "activation" in n.attrs:
                attrs["activation"] = n.attrs["activation"]
            n = Node(n.name, "Gemm", (n.inputs[0], wn, cn), n.outputs, frozen_map(attrs))
        nodes.append(n)
    return prune(_with(graph, nodes=nodes, constants=consts, tensors=tensors))


def fuse_bias_add(graph: Graph) -> Graph:
    """Gemm (constant weights) followed by Add of a constant [N] / [1, N] vector: add it to the bias."""
    for add_name in [n.name for n in graph.nodes if n.op == "Add" and "activation" not in n.attrs]:
        add = graph.node(add_name)
        uses = _use_counts(graph)
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
            cn = _new_const(consts, tensors, f"{prod.name}_C_fused", c)
            new = _replace(prod, inputs=(prod.inputs[0], prod.inputs[1], cn), outputs=add.outputs)
            del tensors[src]
            nodes = [new if n is prod else n for n in graph.nodes if n is not add]
            graph = prune(_with(graph, nodes=nodes, constants=consts, tensors=tensors))
            break
    return graph


def activation_tuple(node: Node) -> tuple:
    """The fused-activation tuple (see mcuforge.core.ir.Node) of a normalised activation node."""
    a = node.attrs
    if node.op == "Clip":
        return ("Clip", float(a["min"]), float(a["max"]))
    if node.op == "LeakyRelu":
        return ("LeakyRelu", float(a["alpha"]))
    if node.op == "HardSigmoid":
        return ("HardSigmoid", float(a["alpha"]), float(a["beta"]))
    return (node.op,)


def fuse_activations(graph: Graph) -> Graph:
    """Fuse an activation into its producer (Conv/Gemm/MatMul/Add) when the activation is the
    producer's only consumer and the intermediate tensor is not a graph output."""
    for act_name in [n.name for n in graph.nodes if n.op in ACTIVATIONS and n.domain == ""]:
        act = graph.node(act_name)
        x = act.inputs[0]
        prod = graph.producer(x)
        uses = _use_counts(graph)
        if prod is None or prod.op not in FUSE_INTO or "activation" in prod.attrs or uses.get(x, 0) != 1:
            continue
        attrs = dict(prod.attrs)
        attrs["activation"] = activation_tuple(act)
        new = _replace(prod, outputs=(act.outputs[0],), attrs=attrs)
        tensors = {k: v for k, v in graph.tensors.items() if k != x}
        nodes = [new if n is prod else n for n in graph.nodes if n is not act]
        graph = _with(graph, nodes=nodes, tensors=tensors)
    return graph


# ---------------------------------------------------------------------------------------------
# verifier and pipeline


def verify(graph: Graph, shapes: bool = True) -> None:
    """Structural invariants every pass must keep; raises RuntimeError (a bug, not a user error).
    With `shapes`, every tensor a node touches must have a TensorInfo (true after infer_shapes)."""
    names = [n.name for n in graph.nodes]
    if len(set(names)) != len(names):
        raise RuntimeError("duplicate node names")
    available = {t.name for t in graph.inputs} | set(graph.constants)
    produced: set[str] = set()
    for n in graph.nodes:
        for i in n.inputs:
            if i and i not in available:
                raise RuntimeError(f"node {n.name} reads '{i}' before it is produced (or it does not exist)")
        for o in n.outputs:
            if not o:
                continue
            if o in produced or o in graph.constants or o in {t.name for t in graph.inputs}:
                raise RuntimeError(f"tensor '{o}' is written twice (node {n.name})")
            produced.add(o)
            available.add(o)
    for t in graph.outputs:
        if t.name not in available:
            raise RuntimeError(f"graph output '{t.name}' is not produced")
    if shapes:
        for n in graph.nodes:
            for t in (*n.inputs, *n.outputs):
                if t and t not in graph.tensors:
                    raise RuntimeError(f"tensor '{t}' of node {n.name} has no TensorInfo")


PASSES: list[tuple[str, Pass]] = [
    ("check_ops", check_ops),
    ("infer_shapes", infer_shapes),
    ("fold_constants", fold_constants),
    ("reinfer_shapes", infer_shapes),
    ("remove_identity", remove_identity),
    ("absorb_qdq", absorb_qdq),
    ("fold_batchnorm", fold_batchnorm),
    ("canonicalize", canonicalize),
    ("normalize_attrs", normalize_attrs),
    ("simplify_reshapes", simplify_reshapes),
    ("matmul_to_gemm", matmul_to_gemm),
    ("fuse_bias_add", fuse_bias_add),
    ("fuse_activations", fuse_activations),
    ("prune", prune),
    ("check_supported", check_supported),
]


def run_passes(graph: Graph, passes: list[tuple[str, Pass]] = PASSES) -> Graph:
    """Apply `passes` in order, verifying the graph after each."""
    shaped = False  # tensors get their TensorInfo in the first infer_shapes
    verify(graph, shaped)
    for name, fn in passes:
        graph = fn(graph)
        shaped = shaped or fn is infer_shapes
        try:
            verify(graph, shaped)
        except RuntimeError as e:
            raise RuntimeError(f"internal error after pass '{name}': {e}") from None
    return graph


def load_model(path_or_model: str | Path | onnx.ModelProto, outputs: list[str] | None = None) -> Graph:
    """Load an ONNX model and return the normalised IR (see the module docstring for the passes).

    `outputs` cuts the graph at those tensors (e.g. before a classifier's ArgMax/ZipMap)."""
    if isinstance(path_or_model, onnx.ModelProto):
        model = path_or_model
    else:
        path = Path(path_or_model)
        if not path.exists():
            raise McufError(f"model file '{path}' does not exist")
        try:
            model = onnx.load(str(path))
        except Exception as e:
            raise McufError(f"cannot read '{path}' as an ONNX model: {e}") from None
    graph = from_onnx(model)
    if outputs:
        graph = cut_outputs(graph, outputs)
    return run_passes(graph)
