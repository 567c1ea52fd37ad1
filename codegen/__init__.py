"""mcuforge code generation: typed plain data in (IR, precision plan, quantized model, target), C project out.
