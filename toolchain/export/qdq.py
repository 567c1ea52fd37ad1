"""Export a QuantizedModel as a QDQ ONNX model: the numeric reference the generated C must match.

In a mixed-precision model only the int8 layers (QuantizedModel.layers) get QDQ; the others stay
float operators, and a float tensor an int8 layer reads is quantized for that layer only.

Layout of the model (opset 25, which onnxruntime 1.32 runs):
(Added names take a `_<k>` suffix when the model already uses the name.)
- every float activation t: its producer writes `t_float`, QuantizeLinear -> `t_quantized` (int8),
  DequantizeLinear -> `t`; consumers read `t` (so graph outputs keep their names). A graph input t
  is quantized into `t_quantized` and dequantized into `t_dequantized`.
- weights: `w_quantized` initializer of ONNX type INT8 / INT4 (the layer's width), per output
  channel `w_scale` (float32) and `w_zero_point` (zeros, same type), DequantizeLinear(axis) -> `w`.
- bias: `b_quantized` int32, `b_scale` = s_in * s_w[c], DequantizeLinear(axis=0) -> `b`.
- fused activations are separate float nodes; a non-clamping one (Sigmoid, HardSwish, ...) reads a
  quantized/dequantized pre-activation tensor, as the int8 kernel's table does.

2-bit weights: onnxruntime 1.32 loads DequantizeLinear of INT2 at opset 25, but its QDQ fusion
(level ORT_ENABLE_EXTENDED and above, i.e. the default session) rewrites DQ(INT2)->Conv/Gemm/MatMul
into QLinearConv/QGemm/MatMulInteger, which reject INT2, so the session fails to load. By default
(`int2_storage="int8"`) 2-bit weights are therefore stored as INT8 initializers holding values in
[-1, 1] (noted in the model's doc_string); `int2_storage="native"` writes ONNX INT2, which
`ort_session` opens with graph optimisation limited to ORT_ENABLE_BASIC.
"""
from __future__ import annotations

from pathlib import Path

import ml_dtypes
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from mcuforge.frontend.to_onnx import node_protos, preact_name
from mcuforge.core.ir import QuantParams
from mcuforge.core.quantized import QuantizedModel

QDQ_OPSET = 25  # INT2 needs 25 (INT4: 21); onnxruntime 1.32 runs all three widths at 25
QDQ_IR_VERSION = 11

_STORAGE = {8: np.int8, 4: ml_dtypes.int4, 2: ml_dtypes.int2, 32: np.int32}


def _int_array(values: np.ndarray, bits: int) -> np.ndarray:
    return np.asarray(values).astype(np.int32).astype(_STORAGE[bits])


class _Builder:
    def __init__(self, taken: set[str]) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.taken = set(taken)  # every name in use: new names never collide with the model's

    def fresh(self, name: str) -> str:
        base, k = name, 1
        while name in self.taken:
            name, k = f"{base}_{k}", k + 1
        self.taken.add(name)
        return name

    def init(self, name: str, value: np.ndarray, exact: bool = False) -> str:
        name = name if exact else self.fresh(name)
        self.inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def dq_const(self, name: str, q: np.ndarray, qp: QuantParams, native_int2: bool) -> None:
        """Integer initializer + DequantizeLinear producing the float constant `name`."""
        bits = qp.bits if (qp.bits != 2 or native_int2) else 8
        qn = self.init(f"{name}_quantized", _int_array(q, bits))
        sn = self.init(f"{name}_scale", qp.scale.astype(np.float32))
        zn = self.init(f"{name}_zero_point", _int_array(qp.zero_point, bits))
        attrs = {"axis": qp.axis} if qp.axis is not None else {}
        self.nodes.append(helper.make_node("DequantizeLinear", [qn, sn, zn], [name],
                                           name=self.fresh(f"{name}_DequantizeLinear"), **attrs))

    def qdq(self, src: str, dst: str, base: str, qp: QuantParams) -> None:
        """src (float) -> QuantizeLinear -> `base`_quantized -> DequantizeLinear -> dst (float)."""
        sn = self.init(f"{base}_scale", qp.scale.astype(np.float32))
        zn = self.init(f"{base}_zero_point", _int_array(qp.zero_point, 8))
        qn = self.fresh(f"{base}_quantized")
        self.nodes.append(helper.make_node("QuantizeLinear", [src, sn, zn], [qn], name=self.fresh(f"{base}_QuantizeLinear")))
        self.nodes.append(helper.make_node("DequantizeLinear", [qn, sn, zn], [dst], name=self.fresh(f"{base}_DequantizeLinear")))


def export_qdq(qmodel: QuantizedModel, path: str | Path | None = None, opset: int = QDQ_OPSET,
               int2_storage: str = "int8") -> onnx.ModelProto:
    """Build (and, with `path`, save) the QDQ ONNX model of `qmodel`.

    int2_storage: "int8" (default; runs in a default onnxruntime session) or "native" (ONNX INT2,
    open it with `ort_session`)."""
    if int2_storage not in ("int8", "native"):
        raise ValueError(f"int2_storage must be 'int8' or 'native', not {int2_storage!r}")
    g = qmodel.graph
    qp = qmodel.tensor_qparams
    taken = set(g.tensors) | set(g.constants) | {n.name for n in g.nodes}
    taken |= {preact_name(n.outputs[0]) for n in g.nodes if "activation" in n.attrs}
    b = _Builder(taken)
    for name, value in g.constants.items():
        if name in qmodel.qconstants:
            b.dq_const(name, qmodel.qconstants[name], qp[name], int2_storage == "native")
        else:
            b.init(name, value, exact=True)
    int8_nodes = set(qmodel.layers)
    # Float tensors (graph inputs, outputs of float layers in a mixed model) that int8 layers read:
    # those layers read a quantized-dequantized copy, float readers the tensor itself, as in the C code.
    rename: dict[str, str] = {}
    for t in g.inputs:
        if t.name in qp:
            rename[t.name] = b.fresh(f"{t.name}_dequantized")
            b.qdq(t.name, rename[t.name], t.name, qp[t.name])
    for n in g.nodes:
        int8 = n.name in int8_nodes
        if int8:
            n = n.__class__(n.name, n.op, tuple(rename.get(i, i) for i in n.inputs), n.outputs, n.attrs, n.domain)
        y = n.outputs[0]
        quantized_out = int8 and y in qp
        y_float = b.fresh(f"{y}_float") if quantized_out else None
        protos, extra = node_protos(n, output_name=y_float, fresh=b.fresh)
        b.inits += extra
        pre = preact_name(y)
        if "activation" in n.attrs and pre in qp:
            pre_dq = b.fresh(f"{pre}_dequantized")
            # the table-driven activation reads the requantized pre-activation
            for p in protos[1:]:
                p.input[0] = pre_dq
            b.nodes.append(protos[0])
            b.qdq(pre, pre_dq, pre, qp[pre])
            b.nodes += protos[1:]
        else:
            b.nodes += protos
        if quantized_out:
            b.qdq(y_float, y, y, qp[y])
        elif y in qp:  # a float layer's output that int8 layers read
            rename[y] = b.fresh(f"{y}_dequantized")
            b.qdq(y, rename[y], y, qp[y])

    def vi(t):
        return helper.make_tensor_value_info(t.name, helper.np_dtype_to_tensor_dtype(np.dtype(t.dtype)), list(t.shape))

    graph = helper.make_graph(b.nodes, f"{g.name}_qdq", [vi(t) for t in g.inputs],
                              [vi(g.tensors.get(t.name, t)) for t in g.outputs], b.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="mcuforge")
    model.ir_version = QDQ_IR_VERSION
    widths = sorted(set(qmodel.weight_bits.values()))
    model.doc_string = (
        "mcuforge QDQ export: int8 per-tensor asymmetric activations, symmetric per-output-channel weights "
        f"(widths {widths}, stored as native ONNX INT8/INT4/INT2), int32 bias; requantization rounds half to even."
    )
    float_layers = [n.name for n in g.nodes if n.name not in int8_nodes]
    if float_layers:
        model.doc_string += (f" Mixed precision: {len(float_layers)} layer(s) computed in floating point (FP16 layers of "
                             "the C library appear here in float32), quantized/dequantized where they meet int8 layers.")
    if 2 in widths and int2_storage == "int8":
        model.doc_string += (" 2-bit weights are stored as INT8 initializers holding values in [-1, 1]: onnxruntime's "
                             "QDQ fusion rejects INT2 weights in a default session.")
    onnx.checker.check_model(model)
    if path is not None:
        onnx.save(model, str(path))
    return model


def ort_session(model: onnx.ModelProto | str | Path):
    """An onnxruntime CPU session for a QDQ model; graph optimisation is limited to ORT_ENABLE_BASIC
    when the model holds INT2 initializers (see the module docstring)."""
    import onnxruntime as ort

    if not isinstance(model, onnx.ModelProto):
        model = onnx.load(str(model))
    so = ort.SessionOptions()
    if any(t.data_type == TensorProto.INT2 for t in model.graph.initializer):
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    return ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
