"""Kernel micro-benchmarks under QEMU (`mcuforge bench kernels`): figures, never tests."""
