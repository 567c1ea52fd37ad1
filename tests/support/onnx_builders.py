"""Small ONNX models built with onnx.helper in the shapes exporters produce (test helpers)."""
from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

F = TensorProto.FLOAT


def init(name: str, value) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(value), name)


def make_model(nodes, inits, inputs, outputs, opset: int = 17, extra_opsets=()) -> onnx.ModelProto:
    g = helper.make_graph(nodes, "test", inputs, outputs, inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset), *extra_opsets])
    m.ir_version = 8
    return m


def run_ort(model: onnx.ModelProto, feeds: dict, outputs=None) -> list[np.ndarray]:
    s = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return s.run(outputs, feeds)


def _bn(rng, prefix: str, c: int, inits: list) -> list[str]:
    names = [f"{prefix}.{k}" for k in ("weight", "bias", "running_mean", "running_var")]
    vals = [rng.uniform(0.5, 1.5, c), rng.normal(0, 0.1, c), rng.normal(0, 0.1, c), rng.uniform(0.5, 1.5, c)]
    inits += [init(n, v.astype(np.float32)) for n, v in zip(names, vals)]
    return names


def he(rng, *shape) -> np.ndarray:
    fan_in = int(np.prod(shape[1:]))
    return (rng.normal(size=shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)


def torch_like_cnn(seed: int = 0, unnamed: bool = False) -> onnx.ModelProto:
    """Conv+BN+Relu, depthwise Conv+BN+Clip(0,6), residual Add, 1x1 stride-2 Conv+Relu, MaxPool,
    TorchScript's Shape->Gather->Unsqueeze->Concat->Reshape flatten, Identity, Dropout, Gemm;
    dynamic batch 'N', as torch.onnx.export(..., dynamic_axes, training=PRESERVE) writes it."""
    rng = np.random.default_rng(seed)
    inits = [
        init("conv1.weight", he(rng, 8, 3, 3, 3)), init("conv1.bias", rng.normal(0, 0.1, 8).astype(np.float32)),
        init("dw.weight", he(rng, 8, 1, 3, 3)),
        init("pw.weight", he(rng, 16, 8, 1, 1)), init("pw.bias", rng.normal(0, 0.1, 16).astype(np.float32)),
        init("fc.weight", he(rng, 10, 64)), init("fc.bias", rng.normal(0, 0.1, 10).astype(np.float32)),
        init("zero", np.array(0.0, np.float32)), init("six", np.array(6.0, np.float32)),
    ]
    bn1 = _bn(rng, "bn1", 8, inits)
    bn2 = _bn(rng, "bn2", 8, inits)
    N = helper.make_node
    nodes = [
        N("Conv", ["x", "conv1.weight", "conv1.bias"], ["c1"], name="/conv1/Conv", kernel_shape=[3, 3],
          pads=[1, 1, 1, 1], strides=[1, 1], dilations=[1, 1], group=1),
        N("BatchNormalization", ["c1", *bn1], ["b1"], name="/bn1/BatchNormalization", epsilon=1e-5, momentum=0.9),
        N("Relu", ["b1"], ["r1"], name="/relu1/Relu"),
        N("Conv", ["r1", "dw.weight"], ["c2"], name="/dw/Conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1], group=8),
        N("BatchNormalization", ["c2", *bn2], ["b2"], name="/bn2/BatchNormalization", epsilon=1e-3),
        N("Clip", ["b2", "zero", "six"], ["r2"], name="/relu6/Clip"),
        N("Add", ["r1", "r2"], ["a"], name="/Add"),
        N("Conv", ["a", "pw.weight", "pw.bias"], ["c3"], name="/pw/Conv", kernel_shape=[1, 1], strides=[2, 2]),
        N("Relu", ["c3"], ["r3"], name="/relu3/Relu"),
        N("MaxPool", ["r3"], ["p"], name="/pool/MaxPool", kernel_shape=[2, 2], strides=[2, 2]),
        N("Shape", ["p"], ["shp"], name="/Shape"),
        N("Constant", [], ["idx"], name="/Constant", value=init("v", np.array(0, np.int64))),
        N("Gather", ["shp", "idx"], ["n"], name="/Gather", axis=0),
        N("Constant", [], ["ax"], name="/Constant_1", value=init("v", np.array([0], np.int64))),
        N("Unsqueeze", ["n", "ax"], ["n1"], name="/Unsqueeze"),
        N("Constant", [], ["m1"], name="/Constant_2", value=init("v", np.array([-1], np.int64))),
        N("Concat", ["n1", "m1"], ["newshape"], name="/Concat", axis=0),
        N("Reshape", ["p", "newshape"], ["flat"], name="/Reshape"),
        N("Identity", ["flat"], ["flat_id"], name="/Identity"),
        N("Dropout", ["flat_id"], ["flat_do"], name="/dropout/Dropout"),
        N("Gemm", ["flat_do", "fc.weight", "fc.bias"], ["logits"], name="/fc/Gemm", alpha=1.0, beta=1.0, transB=1),
    ]
    if unnamed:
        for n in nodes:
            n.name = ""
    return make_model(nodes, inits, [helper.make_tensor_value_info("x", F, ["N", 3, 8, 8])],
                      [helper.make_tensor_value_info("logits", F, ["N", 10])])


def many_ops_model(seed: int = 1) -> onnx.ModelProto:
    """Pad, AveragePool, LeakyRelu, SAME_UPPER Conv + HardSwish, Transpose pair, Sigmoid, HardSigmoid,
    Concat, Mul, GlobalAveragePool, Flatten, MatMul + Add (a Linear as MatMul), Softmax."""
    rng = np.random.default_rng(seed)
    inits = [
        init("pads", np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64)),
        init("cw", he(rng, 6, 4, 3, 3)), init("cb", rng.normal(0, 0.1, 6).astype(np.float32)),
        init("mw", he(rng, 12, 5)), init("mb", rng.normal(0, 0.1, 5).astype(np.float32)),
        init("half", np.array(0.5, np.float32)),
    ]
    N = helper.make_node
    nodes = [
        N("Pad", ["x", "pads"], ["xp"], name="pad", mode="constant"),
        N("AveragePool", ["xp"], ["ap"], name="avgpool", kernel_shape=[3, 3], pads=[1, 1, 1, 1], count_include_pad=0),
        N("LeakyRelu", ["ap"], ["lr"], name="leaky", alpha=0.1),
        N("Conv", ["lr", "cw", "cb"], ["cv"], name="conv", auto_pad="SAME_UPPER", strides=[2, 2]),
        N("HardSwish", ["cv"], ["hs"], name="hswish"),
        N("Transpose", ["hs"], ["t1"], name="to_nhwc", perm=[0, 2, 3, 1]),
        N("Transpose", ["t1"], ["t2"], name="to_nchw", perm=[0, 3, 1, 2]),
        N("Sigmoid", ["t2"], ["sg"], name="sigmoid"),
        N("HardSigmoid", ["t2"], ["hsg"], name="hsigmoid", alpha=0.25, beta=0.4),
        N("Mul", ["hsg", "half"], ["hm"], name="mul_half"),
        N("Concat", ["sg", "hm"], ["cat"], name="concat", axis=-3),
        N("GlobalAveragePool", ["cat"], ["gap"], name="gap"),
        N("Flatten", ["gap"], ["fl"], name="flatten", axis=1),
        N("MatMul", ["fl", "mw"], ["mm"], name="linear_matmul"),
        N("Add", ["mm", "mb"], ["lin"], name="linear_add"),
        N("Softmax", ["lin"], ["prob"], name="softmax", axis=-1),
    ]
    return make_model(nodes, inits, [helper.make_tensor_value_info("x", F, [1, 4, 6, 6])],
                      [helper.make_tensor_value_info("prob", F, [1, 5])])


def skl_classifier(seed: int = 2) -> onnx.ModelProto:
    """skl2onnx's MLPClassifier shape: Cast, MatMul+Add+Relu, MatMul+Add, Softmax -> 'probabilities',
    then ArgMax -> ArrayFeatureExtractor (label) and ZipMap (ai.onnx.ml) post-processing."""
    rng = np.random.default_rng(seed)
    inits = [
        init("coef0", rng.normal(size=(4, 8)).astype(np.float32)), init("int0", rng.normal(size=8).astype(np.float32)),
        init("coef1", rng.normal(size=(8, 3)).astype(np.float32)), init("int1", rng.normal(size=3).astype(np.float32)),
        init("classes", np.array([0, 1, 2], np.int64)),
    ]
    N = helper.make_node
    nodes = [
        N("Cast", ["X"], ["xc"], name="Cast", to=F),
        N("MatMul", ["xc", "coef0"], ["h0"], name="MatMul"),
        N("Add", ["h0", "int0"], ["h1"], name="Add"),
        N("Relu", ["h1"], ["h2"], name="Relu"),
        N("MatMul", ["h2", "coef1"], ["h3"], name="MatMul1"),
        N("Add", ["h3", "int1"], ["h4"], name="Add1"),
        N("Softmax", ["h4"], ["probabilities"], name="Softmax", axis=1),
        N("ArgMax", ["probabilities"], ["argmax_out"], name="ArgMax", axis=1),
        N("ArrayFeatureExtractor", ["classes", "argmax_out"], ["array_feature_extractor_result"],
          name="ArrayFeatureExtractor", domain="ai.onnx.ml"),
        N("ZipMap", ["probabilities"], ["output_probability"], name="ZipMap", domain="ai.onnx.ml",
          classlabels_int64s=[0, 1, 2]),
    ]
    seq_map = helper.make_sequence_type_proto(helper.make_map_type_proto(TensorProto.INT64, helper.make_tensor_type_proto(F, [])))
    return make_model(
        nodes, inits, [helper.make_tensor_value_info("X", F, [None, 4])],
        [helper.make_tensor_value_info("array_feature_extractor_result", TensorProto.INT64, None),
         helper.make_value_info("output_probability", seq_map)],
        opset=17, extra_opsets=[helper.make_opsetid("ai.onnx.ml", 1)],
    )


def keras_like_model(seed: int = 3) -> onnx.ModelProto:
    """tf2onnx's shape of a small Keras CNN: NHWC input with an 'unk__' batch, Transpose to NCHW,
    Conv(SAME_UPPER)+Relu6 as Clip, depthwise Conv, ReduceMean over H, W (GlobalAveragePooling2D,
    keepdims 0), Dense as MatMul + Add, Softmax; opset 13, Squeeze/Unsqueeze on activations."""
    rng = np.random.default_rng(seed)
    inits = [
        init("perm_w", he(rng, 8, 3, 3, 3)), init("conv_b", rng.normal(0, 0.1, 8).astype(np.float32)),
        init("dw_w", he(rng, 8, 1, 3, 3)), init("dw_b", rng.normal(0, 0.1, 8).astype(np.float32)),
        init("dense_w", he(rng, 4, 8).T.copy()), init("dense_b", rng.normal(0, 0.1, 4).astype(np.float32)),
        init("lo", np.array(0.0, np.float32)), init("hi", np.array(6.0, np.float32)),
        init("axes_hw", np.array([2, 3], np.int64)), init("axes0", np.array([1], np.int64)),
    ]
    N = helper.make_node
    nodes = [
        N("Transpose", ["input_1:0"], ["nchw"], name="StatefulPartitionedCall/model/conv/Conv2D__6", perm=[0, 3, 1, 2]),
        N("Conv", ["nchw", "perm_w", "conv_b"], ["c"], name="StatefulPartitionedCall/model/conv/BiasAdd",
          auto_pad="SAME_UPPER", strides=[2, 2], kernel_shape=[3, 3], dilations=[1, 1], group=1),
        N("Clip", ["c", "lo", "hi"], ["r"], name="StatefulPartitionedCall/model/re_lu/Relu6"),
        N("Conv", ["r", "dw_w", "dw_b"], ["d"], name="StatefulPartitionedCall/model/dw/depthwise",
          auto_pad="SAME_UPPER", group=8, kernel_shape=[3, 3]),
        N("Relu", ["d"], ["dr"], name="StatefulPartitionedCall/model/dw_relu/Relu"),
        N("ReduceMean", ["dr"], ["gap"], name="StatefulPartitionedCall/model/gap/Mean", axes=[2, 3], keepdims=0),
        N("Unsqueeze", ["gap", "axes0"], ["gap3"], name="expand"),
        N("Squeeze", ["gap3", "axes0"], ["gap2"], name="squeeze"),
        N("MatMul", ["gap2", "dense_w"], ["mm"], name="StatefulPartitionedCall/model/dense/MatMul"),
        N("Add", ["mm", "dense_b"], ["logits"], name="StatefulPartitionedCall/model/dense/BiasAdd"),
        N("Softmax", ["logits"], ["dense"], name="StatefulPartitionedCall/model/dense/Softmax", axis=-1),
    ]
    return make_model(nodes, inits, [helper.make_tensor_value_info("input_1:0", F, ["unk__12", 9, 9, 3])],
                      [helper.make_tensor_value_info("dense", F, ["unk__13", 4])], opset=13)


def edge_ops_model(seed: int = 4) -> onnx.ModelProto:
    """Less common forms: standalone BatchNormalization, reflect Pad, ceil-mode MaxPool/AveragePool
    with padding (count_include_pad=1), Add + Sigmoid, Concat with a constant, Transpose, MatMul of
    two activations + LeakyRelu."""
    rng = np.random.default_rng(seed)
    c = 4
    inits = [init(n, v.astype(np.float32)) for n, v in
             (("g", rng.uniform(0.5, 2, c)), ("b", rng.normal(size=c)), ("m", rng.normal(size=c)), ("v", rng.uniform(0.5, 2, c)))]
    # padded to 12 x 11: the last ceil-mode window (start 12 of a 14-row padded input) hangs off it
    inits += [init("cst", rng.normal(size=(1, 2, 7, 6)).astype(np.float32)),
              init("pads", np.array([0, 0, 1, 1, 0, 0, 1, 0], np.int64))]
    N = helper.make_node
    nodes = [
        N("BatchNormalization", ["x", "g", "b", "m", "v"], ["bn"], name="bn"),
        N("Pad", ["bn", "pads"], ["pd"], name="pad", mode="reflect"),
        N("MaxPool", ["pd"], ["mp"], name="maxpool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1),
        N("AveragePool", ["pd"], ["ap"], name="avgpool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
          ceil_mode=1, count_include_pad=1),
        N("Add", ["mp", "ap"], ["s"], name="add"),
        N("Sigmoid", ["s"], ["sg"], name="sigmoid"),
        N("Concat", ["sg", "cst"], ["cat"], name="concat", axis=1),
        N("Transpose", ["cat"], ["tr"], name="transpose", perm=[0, 1, 3, 2]),
        N("MatMul", ["cat", "tr"], ["mm"], name="matmul"),
        N("LeakyRelu", ["mm"], ["y"], name="leaky", alpha=0.2),
    ]
    return make_model(nodes, inits, [helper.make_tensor_value_info("x", F, [1, c, 10, 10])],
                      [helper.make_tensor_value_info("y", F, None)])
