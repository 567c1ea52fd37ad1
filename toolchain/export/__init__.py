"""Export: the QDQ ONNX model onnxruntime runs as the numeric reference of the C library."""
