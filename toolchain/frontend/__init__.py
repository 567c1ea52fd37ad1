"""Front end: an ONNX model in, the normalised IR out (mcuforge.frontend.pipeline.load_model)."""
