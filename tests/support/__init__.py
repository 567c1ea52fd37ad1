"""Helpers shared by the tests (no tests here): cffi libraries of the kernels with guarded buffers and
numpy references, the PyTorch-exported test models, ONNX model builders, the ONNX conformance suite.
Import them as `from tests.support.<module> import ...`."""
