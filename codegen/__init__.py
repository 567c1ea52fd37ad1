"""mcuforge code generation: typed plain data in (IR, precision plan, quantized model, target), C project out.

Imports only mcuforge.core; only the compile driver calls it."""
