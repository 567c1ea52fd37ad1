"""Small ONNX models built in code for end-to-end tests (shapes as PyTorch exports them)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper as nh


def save_model(path: Path, name: str, nodes: list, inits: dict[str, np.ndarray], x_shape: list[int],
               y_shape: list[int]) -> Path:
    """One float input x and output y, initializers as float32, opset 17; checked and saved to `path`."""
    g = h.make_graph(nodes, name, [h.make_tensor_value_info("x", T.FLOAT, x_shape)],
                     [h.make_tensor_value_info("y", T.FLOAT, y_shape)],
                     [nh.from_array(np.asarray(v).astype(np.float32), k) for k, v in inits.items()])
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 17)], producer_name="mcuforge-tests")
    onnx.checker.check_model(m)
    onnx.save(m, str(path))
    return Path(path)


def small_cnn(path: Path, seed: int = 0) -> Path:
    """Conv(1->4, 3x3, pad 1) + Relu, MaxPool 2x2, Flatten, Gemm(64->10): input x [1,1,8,8], output y [1,10]."""
    rng = np.random.default_rng(seed)
    inits = {"W1": rng.standard_normal((4, 1, 3, 3)) * 0.5, "B1": rng.standard_normal(4) * 0.1,
             "W2": rng.standard_normal((10, 64)) * 0.2, "B2": rng.standard_normal(10) * 0.1}
    nodes = [h.make_node("Conv", ["x", "W1", "B1"], ["c1"], name="conv1", pads=[1, 1, 1, 1], kernel_shape=[3, 3]),
             h.make_node("Relu", ["c1"], ["r1"], name="relu1"),
             h.make_node("MaxPool", ["r1"], ["p1"], name="pool1", kernel_shape=[2, 2], strides=[2, 2]),
             h.make_node("Flatten", ["p1"], ["f1"], name="flat"),
             h.make_node("Gemm", ["f1", "W2", "B2"], ["y"], name="fc", transB=1)]
    return save_model(path, "small_cnn", nodes, inits, [1, 1, 8, 8], [1, 10])


def unsupported_model(path: Path) -> Path:
    """A model with two ops mcuforge does not support (TopK, Einsum) and a supported one between."""
    k = nh.from_array(np.array([3], np.int64), "k")
    nodes = [h.make_node("Einsum", ["x", "x"], ["e"], name="einsum_node", equation="ij,ij->ij"),
             h.make_node("Relu", ["e"], ["r"], name="relu_ok"),
             h.make_node("TopK", ["r", "k"], ["v", "i"], name="topk_node")]
    g = h.make_graph(nodes, "bad", [h.make_tensor_value_info("x", T.FLOAT, [1, 8])],
                     [h.make_tensor_value_info("v", T.FLOAT, [1, 3])], [k])
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 17)])
    onnx.save(m, str(path))
    return Path(path)


def samples(n: int, shape=(1, 1, 8, 8), seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, *shape)).astype(np.float32)
