"""Quantization: calibration ranges, the quantizer, its fixed-point arithmetic and the integer reference evaluator."""
