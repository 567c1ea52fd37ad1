"""What runtime_c provides: which file defines each kernel, which header declares it, what each file calls
and includes, which backend variants exist on which target.

Read from the committed manifest runtime_c/kernels.json (mcuforge.core.paths.KERNEL_MANIFEST), which
runtime_c/tools/gen_kernel_manifest.py generates from the symbol tables of the compiled kernel files
(tests/host/test_kernel_manifest.py keeps it honest). Nothing here runs a compiler, so code generation
needs no cross tools.

`target` arguments name a manifest target ("host", "rv32", "rv32-zfh", "rv32-zvfh") or are a
mcuforge.core.targets.Target; None (or a target the manifest does not know) means "any target": the
union of what every build of a file calls, which is always enough, only larger.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

from mcuforge.core.errors import McufError
from mcuforge.core.paths import KERNEL_MANIFEST, RUNTIME_INCLUDE, RUNTIME_SRC

# The manifest targets whose builds have the backend a variant suffix needs: `_rvv` RVV 1.0 + Zvfh,
# `_zfh` scalar Zfh.
_VECTOR_KIND = "rv32-zvfh"
_ZFH_KIND = "rv32-zfh"


@lru_cache(maxsize=1)
def manifest() -> dict[str, Any]:
    """The parsed runtime_c/kernels.json."""
    try:
        return json.loads(KERNEL_MANIFEST.read_text())
    except FileNotFoundError:
        raise McufError(f"kernel manifest {KERNEL_MANIFEST} is missing: run "
                        "python runtime_c/tools/gen_kernel_manifest.py in a checkout") from None


def _target_name(target: Any) -> str | None:
    """The manifest target `target` stands for, or None (any target)."""
    if target is None:
        return None
    name = target if isinstance(target, str) else getattr(target, "name", None)
    return name if name in manifest()["targets"] else None


def kernel_index() -> dict[str, Path]:
    """Kernel function name -> the source file that defines it."""
    return {fn: RUNTIME_SRC / e["source"] for fn, e in manifest()["kernels"].items()}


def has_kernel(name: str, target: Any = None) -> bool:
    """Whether runtime_c defines `name` (on `target`, or on at least one target when None)."""
    e = manifest()["kernels"].get(name)
    if e is None:
        return False
    t = _target_name(target)
    return t is None or t in e["targets"]


def best_variant(base: str, fp16_mode: str, vector_bits: int) -> str:
    """The fastest existing variant of `base` for a target (direct call, chosen at compile time).

    A variant is offered only if the manifest says it is defined on a target of that kind: `_rvv` on
    the RVV + Zvfh build for a target with a vector unit and vector FP16, `_zfh` on a Zfh build
    (with or without the vector unit) for a target with scalar FP16."""
    if vector_bits and fp16_mode == "vector" and has_kernel(f"{base}_rvv", _VECTOR_KIND):
        return f"{base}_rvv"
    if fp16_mode in ("native", "vector"):
        kind = _VECTOR_KIND if vector_bits and fp16_mode == "vector" else _ZFH_KIND
        if has_kernel(f"{base}_zfh", kind):
            return f"{base}_zfh"
    return base


def _calls(source: str, target: str | None) -> set[str]:
    calls = manifest()["sources"][source]["calls"]
    if target is None:
        return {fn for fns in calls.values() for fn in fns}
    return set(calls.get(target, ()))


def _closure(functions: Iterable[str], target: Any) -> tuple[set[str], set[str]]:
    """(functions, source files): `functions` plus everything their files call, transitively."""
    t = _target_name(target)
    kernels = manifest()["kernels"]
    todo = [fn for fn in functions if fn in kernels]
    fns: set[str] = set()
    files: set[str] = set()
    while todo:
        fn = todo.pop()
        if fn in fns:
            continue
        fns.add(fn)
        f = kernels[fn]["source"]
        if f not in files:
            files.add(f)
            todo.extend(c for c in _calls(f, t) if c in kernels and c not in fns)
    return fns, files


def files_for(functions: Iterable[str], target: Any = None) -> list[Path]:
    """Source files defining `functions`, plus every file those call into (transitively), sorted."""
    return sorted(RUNTIME_SRC / f for f in _closure(functions, target)[1])


def _include_closure(names: Iterable[str]) -> tuple[set[str], set[str]]:
    """(public, private) header names: `names` and everything they #include, transitively."""
    m = manifest()
    public: set[str] = set()
    private: set[str] = set()
    todo = list(names)
    while todo:
        h = todo.pop()
        if h in m["headers"] and h not in public:
            public.add(h)
            todo.extend(m["headers"][h]["includes"])
        elif h in m["private_headers"] and h not in private:
            private.add(h)
            todo.extend(m["private_headers"][h]["includes"])
    return public, private


def _header_closure(functions: Iterable[str], target: Any) -> tuple[set[str], set[str]]:
    """(public, private) header names the kernels and their transitive callees need: the headers
    declaring them, the headers their source files include, and what those headers include."""
    m = manifest()
    fns, files = _closure(functions, target)
    return _include_closure([*(m["kernels"][fn]["header"] for fn in fns if m["kernels"][fn]["header"]),
                             *(h for f in files for h in m["sources"][f]["includes"])])


def headers_for(functions: Iterable[str], target: Any = None) -> list[Path]:
    """Public headers (runtime_c/include) the kernels `functions` and their transitive callees need: the
    ones declaring them, the ones their sources include, and what those include (mcuf_common.h), sorted."""
    return sorted(RUNTIME_INCLUDE / h for h in _header_closure(functions, target)[0])


def private_headers_for(functions: Iterable[str], target: Any = None) -> list[Path]:
    """Private headers (runtime_c/src/*.h) the source files of `functions` include, transitively, sorted."""
    return sorted(RUNTIME_SRC / h for h in _header_closure(functions, target)[1])


def declaring_headers(functions: Iterable[str]) -> list[Path]:
    """The public headers declaring `functions` themselves (what a caller of them includes), sorted."""
    kernels = manifest()["kernels"]
    return sorted({RUNTIME_INCLUDE / kernels[fn]["header"] for fn in functions
                   if fn in kernels and kernels[fn]["header"]})


def headers_defining(names: Iterable[str]) -> list[Path]:
    """The public headers defining these macros, typedef names or enum constants (MCUF_ACT_RELU,
    mcuf_conv2d_params: what kernel parameters spell), sorted; names no header defines are ignored."""
    where = {n: h for h, e in manifest()["headers"].items() for n in e["names"]}
    return sorted({RUNTIME_INCLUDE / where[n] for n in names if n in where})


def include_closure(headers: Iterable[Path | str]) -> list[Path]:
    """Public headers `headers` (paths or names) and the public headers they include, transitively, sorted."""
    return sorted(RUNTIME_INCLUDE / h for h in _include_closure(Path(h).name for h in headers)[0])
