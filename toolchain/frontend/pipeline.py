"""The front end's entry point: `load_model` turns an ONNX model into the normalised IR.

`load_model` reads the model (PyTorch, tf2onnx, skl2onnx), fixes the batch to 1, optionally cuts it
at `outputs`, then runs `PASSES`, a flat list of pure `Graph -> Graph` passes with `verify` between
them:

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

check_ops, normalize_attrs and check_supported live in mcuforge.frontend.optable (with the
normalised attributes of every op), prune in mcuforge.frontend.rewrite, the others in
mcuforge.frontend.passes; ONNX reading is mcuforge.frontend.onnx_io.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import onnx

from mcuforge.core.errors import McufError
from mcuforge.core.ir import Graph
from mcuforge.frontend.onnx_io import from_onnx
from mcuforge.frontend.optable import check_ops, check_supported, normalize_attrs
from mcuforge.frontend.passes import (absorb_qdq, canonicalize, fold_batchnorm, fold_constants, fuse_activations,
                                      fuse_bias_add, infer_shapes, matmul_to_gemm, remove_identity, simplify_reshapes)
from mcuforge.frontend.rewrite import cut_outputs, prune

Pass = Callable[[Graph], Graph]


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
