"""mcuforge toolchain: ONNX in, quantized trainable C library for RISC-V microcontrollers out."""

__version__ = "0.1.0"
