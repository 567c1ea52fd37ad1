"""mcuforge: ONNX in, quantized trainable C library for RISC-V microcontrollers out.

The pipeline's stages are sub-packages, in the order data flows through them: frontend (ONNX -> IR),
quantize (calibration, quantizers, integer reference), allocate (per-layer precision), export (QDQ
ONNX), codegen (C), run (build and run on the host or under QEMU); core holds the plain data they
pass along. compile.py drives them; cli.py is the command line.
"""
from mcuforge.core.version import __version__  # noqa: F401
