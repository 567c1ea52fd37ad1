"""One module per op family; importing this package registers every resolver."""
from mcuforge.codegen.ops import conv, convert, eltwise, gemm, pool, shape  # noqa: F401
