"""mcuforge code generation: IR + plain data in, C library out. Reads toolchain's IR, never calls the pipeline."""
