"""The tensor file format shared with runtime_c/harness/mcuf_io.c.

"MCUT", uint32 dtype code, uint32 ndim, uint32 dims[ndim], raw little-endian data.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from mcuforge.core.errors import McufError

DTYPE_CODES: dict[str, int] = {
    "float32": 1, "float16": 2, "int8": 3, "uint8": 4, "int16": 5,
    "int32": 6, "uint16": 7, "uint32": 8, "float64": 9,
}
CODE_DTYPES = {v: k for k, v in DTYPE_CODES.items()}


def encode(array: np.ndarray) -> bytes:
    """Serialise one array (C order, little-endian)."""
    a = np.asarray(array)  # not ascontiguousarray: it turns a 0-d array into shape (1,)
    name = a.dtype.name
    if name not in DTYPE_CODES:
        raise McufError(f"tensor dtype {name} cannot be passed to a C driver; use one of {sorted(DTYPE_CODES)}")
    head = np.array([DTYPE_CODES[name], a.ndim, *a.shape], dtype="<u4")
    return b"MCUT" + head.tobytes() + a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes(order="C")


def decode(data: bytes, origin: str = "tensor file") -> np.ndarray:
    """Parse bytes written by mcuf_io_write; `origin` names the file in errors."""
    if len(data) < 12 or data[:4] != b"MCUT":
        raise McufError(f"{origin}: not a tensor file written by mcuf_io_write")
    code, ndim = np.frombuffer(data, dtype="<u4", count=2, offset=4)
    if int(code) not in CODE_DTYPES or ndim > 8:
        raise McufError(f"{origin}: unknown dtype code {int(code)} or rank {int(ndim)}")
    dims = tuple(int(d) for d in np.frombuffer(data, dtype="<u4", count=int(ndim), offset=12))
    dtype = np.dtype(CODE_DTYPES[int(code)]).newbyteorder("<")
    offset = 12 + 4 * int(ndim)
    count = int(np.prod(dims, dtype=np.int64))
    if len(data) - offset != count * dtype.itemsize:
        raise McufError(f"{origin}: data holds {len(data) - offset} bytes, dims {dims} need {count * dtype.itemsize}")
    return np.frombuffer(data, dtype=dtype, count=count, offset=offset).reshape(dims).astype(dtype.newbyteorder("="))


def write(path: Path, array: np.ndarray) -> None:
    """Write one array as a tensor file."""
    Path(path).write_bytes(encode(array))


def read(path: Path) -> np.ndarray:
    """Read one tensor file."""
    return decode(Path(path).read_bytes(), str(path))
