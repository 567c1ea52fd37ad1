"""One module per op family; importing this package registers every resolver."""
from . import convert, eltwise, conv, gemm, pool, shape  # noqa: F401
