"""One module per op family; importing this package registers every resolver."""
from mcuforge.codegen.ops import convert; from mcuforge.codegen.ops import eltwise; from mcuforge.codegen.ops import conv; from mcuforge.codegen.ops import gemm; from mcuforge.codegen.ops import pool; from mcuforge.codegen.ops import shape  # noqa: F401
