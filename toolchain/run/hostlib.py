"""Compile C as a host shared library and load it with cffi: the fast path for kernel tests.

The cffi declarations come from the real headers, preprocessed with -DMCUF_CFFI against empty
stand-ins for the standard headers (cffi knows int8_t, size_t, ... itself), so a prototype is written
once, in C.
"""
from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping, Sequence

import cffi

from mcuforge.core.errors import McufError
from mcuforge.run.harness import _define_flags, _headers_under, _tool_identity, require_tool
from mcuforge.core.paths import RUNTIME_INCLUDE, default_cache_dir
from mcuforge.core.targets import TARGETS

_STD_STUBS = ("stdint.h", "stddef.h", "stdbool.h")


def cdef_from_headers(headers: Sequence[Path], include_dirs: Sequence[Path],
                      defines: Mapping[str, str | int | None] | None = None) -> str:
    """Declarations of `headers` as cffi can parse them (preprocessed with MCUF_CFFI defined)."""
    gcc = require_tool(TARGETS["host"].cc)
    with tempfile.TemporaryDirectory(prefix="mcuf-cdef-") as tmp:
        stub = Path(tmp)
        for name in _STD_STUBS:
            (stub / name).write_text("/* cffi knows these types */\n")
        top = stub / "all.h"
        top.write_text("".join(f'#include "{Path(h).resolve()}"\n' for h in headers))
        cmd = [gcc, "-E", "-P", "-nostdinc", "-DMCUF_CFFI", *_define_flags(defines or {}), f"-I{stub}",
               *(f"-I{d}" for d in include_dirs), str(top)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise McufError(f"preprocessing headers for cffi failed:\n{proc.stderr}")
    text = proc.stdout
    # Qualifiers pycparser accepts only in some positions; they carry no ABI meaning.
    text = re.sub(r"\b(__restrict__|__restrict|restrict)\b", "", text)
    return text


@lru_cache(maxsize=None)
def _load(lib_path: str, cdef: str) -> tuple[cffi.FFI, Any]:
    ffi = cffi.FFI()
    ffi.cdef(cdef)
    return ffi, ffi.dlopen(lib_path)


def load_library(sources: Sequence[str | Path], include_dirs: Sequence[str | Path] = (),
                 headers: Sequence[str | Path] = (), defines: Mapping[str, str | int | None] | None = None,
                 cache_dir: Path | None = None) -> tuple[cffi.FFI, Any]:
    """Build `sources` into a host shared library (cached by content) and return (ffi, lib).

    `headers` provide the cdef; runtime_c/include is always on the include path.
    """
    host = TARGETS["host"]
    gcc = require_tool(host.cc)
    srcs = [Path(s).resolve() for s in sources]
    incs = [Path(d).resolve() for d in include_dirs] + [RUNTIME_INCLUDE]
    for s in srcs:
        if not s.is_file():
            raise McufError(f"C source {s} does not exist")
    h = hashlib.sha256()
    for part in (*host.cflags, _tool_identity(gcc), *_define_flags(defines or {})):
        h.update(part.encode() + b"\0")
    for f in [*srcs, *_headers_under(dict.fromkeys([*incs, *(s.parent for s in srcs)]))]:
        h.update(str(f).encode() + b"\0" + f.read_bytes() + b"\0")
    key = h.hexdigest()[:24]
    out_dir = Path(cache_dir or default_cache_dir()) / "hostlib" / key
    lib = out_dir / "libmcuf_test.so"
    if not lib.is_file():
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=out_dir.parent))
        try:
            cmd = [gcc, *host.cflags, "-fPIC", "-shared", *(f"-I{d}" for d in incs),
                   *_define_flags(defines or {}), *map(str, srcs), "-o", str(work / lib.name), "-lm"]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                raise McufError(f"building host library failed:\n$ {' '.join(cmd)}\n{proc.stderr}")
            try:
                work.rename(out_dir)
            except OSError:
                if not lib.is_file():
                    raise
        finally:
            if work.exists():
                shutil.rmtree(work, ignore_errors=True)
    cdef = cdef_from_headers([Path(p) for p in headers], incs, defines)
    return _load(str(lib), cdef)
