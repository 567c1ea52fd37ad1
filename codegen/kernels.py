"""What runtime_c provides: which file defines each kernel, what each file calls, which backend variants exist.

Read from the symbol tables of the compiled kernel files (for the host and for the richest RISC-V
target, so `_zfh`/`_rvv` variants count too): exact whatever macros generate the definitions, and no
registration to keep in step. The index is cached by the content of runtime_c.
"""
from __future__ import annotations

import hashlib
import json
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

from mcuforge.run.harness import require_tool
from mcuforge.core.paths import RUNTIME_INCLUDE, RUNTIME_SRC, default_cache_dir
from mcuforge.core.targets import TARGETS, Tool

_NM = Tool("riscv64-unknown-elf-nm", "binutils-riscv64-unknown-elf")


def _content_key() -> str:
    h = hashlib.sha256()
    for p in sorted([*RUNTIME_SRC.glob("*.[ch]"), *RUNTIME_INCLUDE.glob("*.h")]):
        h.update(p.name.encode() + b"\0" + p.read_bytes())
    for t in ("host", "rv32-zfh", "rv32-zvfh"):
        h.update(" ".join(TARGETS[t].cflags).encode())
    return h.hexdigest()[:24]


def _symbols(obj: Path, nm: str) -> tuple[set[str], set[str]]:
    out = subprocess.run([nm, str(obj)], capture_output=True, text=True, check=True).stdout
    defined, undefined = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[-1].startswith("mcuf_"):
            kind, sym = parts[-2], parts[-1]
            if kind == "U":
                undefined.add(sym)
            elif kind in ("T", "t", "W"):
                defined.add(sym)
    return defined, undefined


def _build_index() -> dict[str, dict[str, list[str]]]:
    nm = require_tool(_NM)
    index: dict[str, dict[str, list[str]]] = {}
    with tempfile.TemporaryDirectory(prefix="mcuf-kindex-") as tmp:
        for tname in ("host", "rv32-zfh", "rv32-zvfh"):
            t = TARGETS[tname]
            cc = require_tool(t.cc)
            for src in sorted(RUNTIME_SRC.glob("*.c")):
                obj = Path(tmp) / f"{tname}-{src.stem}.o"
                proc = subprocess.run([cc, *t.cflags, f"-I{RUNTIME_INCLUDE}", f"-I{RUNTIME_SRC}", "-c", str(src),
                                       "-o", str(obj)], capture_output=True, text=True)
                if proc.returncode != 0:
                    # A kernel file that does not compile fails the C test build loudly; here it is
                    # simply not offered to code generation.
                    continue
                d, u = _symbols(obj, nm)
                e = index.setdefault(src.name, {"defines": [], "calls": []})
                e["defines"] = sorted(set(e["defines"]) | d)
                e["calls"] = sorted(set(e["calls"]) | u)
    return index


@lru_cache(maxsize=1)
def _file_index() -> dict[str, dict[str, list[str]]]:
    cache = default_cache_dir() / "kernel-index" / f"{_content_key()}.json"
    if cache.is_file():
        return json.loads(cache.read_text())
    index = _build_index()
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".tmp")
    tmp.write_text(json.dumps(index))
    tmp.replace(cache)
    return index


def kernel_index() -> dict[str, Path]:
    """Kernel function name -> the source file that defines it."""
    return {fn: RUNTIME_SRC / f for f, e in _file_index().items() for fn in e["defines"]}


def has_kernel(name: str) -> bool:
    return name in kernel_index()


def best_variant(base: str, fp16_mode: str, vector_bits: int) -> str:
    """The fastest existing variant of `base` for a target (direct call, chosen at compile time)."""
    if vector_bits and has_kernel(f"{base}_rvv"):
        return f"{base}_rvv"
    if fp16_mode in ("native", "vector") and has_kernel(f"{base}_zfh"):
        return f"{base}_zfh"
    return base


def files_for(functions: set[str]) -> list[Path]:
    """Source files defining `functions`, plus every file those call into (transitively), sorted."""
    files = _file_index()
    where = {fn: f for f, e in files.items() for fn in e["defines"]}
    todo = [fn for fn in functions if fn in where]
    chosen: set[str] = set()
    while todo:
        f = where[todo.pop()]
        if f in chosen:
            continue
        chosen.add(f)
        todo.extend(c for c in files[f]["calls"] if c in where and where[c] not in chosen)
    return sorted(RUNTIME_SRC / f for f in chosen)
