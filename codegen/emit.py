"""Render a Program to a CMake project through the jinja2 templates in templates/.

Everything here is presentation: C spelling of values, names, file layout. No arithmetic on the model.
"""
from __future__ import annotations

import math
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import jinja2
import numpy as np

from mcuforge.core.version import __version__
from mcuforge.core.errors import McufError
from mcuforge.core.paths import PLATFORM_C, TEMPLATES
from mcuforge.core.targets import Target

from mcuforge.codegen.kernels import (declaring_headers, files_for, has_kernel, headers_defining, headers_for,
                                      include_closure, private_headers_for)
from mcuforge.codegen.context import c_ident
from mcuforge.codegen.program import Arg, Program, Step


def c_float(v: float) -> str:
    """A float literal that reads back to the same float32."""
    v = float(np.float32(v))
    if math.isnan(v):
        return "NAN"
    if math.isinf(v):
        return "INFINITY" if v > 0 else "-INFINITY"
    s = f"{v:.9g}"
    if "e" not in s and "." not in s:
        s += ".0"
    return s + "f"


def c_value(v: Any) -> str:
    """C initializer text for a params field: numbers, bools, sequences; strings are C expressions."""
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return c_float(float(v))
    if isinstance(v, (list, tuple, np.ndarray)):
        return "{" + ", ".join(c_value(x) for x in v) + "}"
    if isinstance(v, str):
        return v
    raise TypeError(f"cannot spell {v!r} in C")


def array_lines(ctype: str, values: np.ndarray, per_line: int = 8) -> list[str]:
    """The body of a constant array initializer, `per_line` values a line."""
    if ctype == "float":
        items = [c_float(x) for x in values.astype(np.float32)]
    elif ctype == "mcuf_f16":
        items = [f"(mcuf_f16){c_float(float(x))}" for x in values.astype(np.float16)]
        per_line = 6
    else:
        items = [str(int(x)) for x in values]
        per_line = 16
    return [", ".join(items[i:i + per_line]) + "," for i in range(0, len(items), per_line)]


@dataclass(frozen=True)
class RenderedStep:
    comment: tuple[str, ...]
    call: str | None
    params_decl: str | None
    hook: int | None = None  # layer index when this step starts a new ONNX node


def _params_names(steps: Sequence[Step]) -> list[str]:
    """The C name of each step's params struct, after its node: p_<node>, p_<node>_2, ... when a node
    lowers to several calls with parameters."""
    names, taken = [], set()
    for st in steps:
        base = "p_" + c_ident(st.node)
        name, k = base, 2
        while name in taken:
            name, k = f"{base}_{k}", k + 1
        taken.add(name)
        names.append(name)
    return names


def _render_steps(prog: Program, steps: Sequence[Step], start: int) -> list[RenderedStep]:
    out = []
    pnames = _params_names(steps)
    for i, st in enumerate(steps, start=start):
        pname = pnames[i - start]
        args = []
        for a in st.args:
            if a.kind == "buf":
                args.append(prog.buffers[a.value].cname + (f" + {a.offset}" if a.offset else ""))
            elif a.kind == "const":
                args.append(a.value + (f" + {a.offset}" if a.offset else ""))
            elif a.kind == "params":
                args.append(f"&{pname}")
            elif a.kind == "scratch":
                args.append(f"scratch_{i}")
            elif a.kind == "scratch_bytes":
                args.append(str(st.scratch_bytes))
            else:
                args.append(a.value)
        decl = None
        if st.params_type:
            fields = ",\n".join(f"    .{k} = {c_value(v)}" for k, v in st.params.items())
            decl = f"static const {st.params_type} {pname} = {{\n{fields},\n}};"
        call = f"{st.func}({', '.join(args)})" if st.func else None
        out.append(RenderedStep(st.comment, call, decl))
    return out


def _env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), undefined=jinja2.StrictUndefined,
                              trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def _render(env: jinja2.Environment, template: str, **ctx: Any) -> str:
    try:
        return env.get_template(template).render(**ctx)
    except jinja2.TemplateError as e:
        raise McufError(f"rendering template {template} failed: {e}") from e


def _c_names(values: Any) -> set[str]:
    """Identifiers in the C expressions (strings) among params values, nested sequences included."""
    if isinstance(values, str):
        return set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", values))
    if isinstance(values, (list, tuple)):
        return {n for v in values for n in _c_names(v)}
    return set()


def platform_files(target: Target | None = None) -> list[Path]:
    """runtime_c/platform files a firmware for `target` links (each is empty where it has no work):
    none on the host, the soft FP16 conversions without Zfh, the vector-unit enable with RVV.
    All of them when the target is unknown (None)."""
    every = sorted(PLATFORM_C.glob("*.c"))
    if target is None:
        return every
    need = {PLATFORM_C.parent / s for s in target.startup_sources}
    if target.fp16 != "soft":
        need.discard(PLATFORM_C / "mcuf_f16_soft.c")
    if not target.vector_bits:
        need.discard(PLATFORM_C / "mcuf_rv_start.c")
    return [p for p in every if p in need]


def emit_project(prog: Program, out_dir: Path, command_line: str, model_sha256: str, producer: str) -> dict[str, Path]:
    """Write the CMake project for `prog` into `out_dir` (created); returns the files by role.

    The program's target narrows the copied kernel files to what its builds reference and the
    platform files to what it needs; a program without one gets what any target could need."""
    target = prog.target
    env = _env()
    name = prog.name
    NAME = name.upper()
    all_steps = (*prog.input_convert, *prog.steps, *prog.output_convert)
    rendered = _render_steps(prog, all_steps, 0)
    n_in = len(prog.input_convert)
    layers = []
    prev = None
    n_nodes = 0
    for st, r in zip(prog.steps, rendered[n_in:n_in + len(prog.steps)]):
        starts = st.node != prev
        layers.append(RenderedStep(r.comment, r.call, r.params_decl, n_nodes if starts else None))
        n_nodes += starts
        prev = st.node
    functions = {s.func for s in all_steps if s.func}
    missing = sorted(f for f in functions if not has_kernel(f, target))
    if missing:
        where = f" for {target.name}" if target is not None else ""
        raise McufError(f"runtime_c provides no {', '.join(missing)}{where} (see runtime_c/kernels.json; "
                        "a kernel file that does not compile is left out: build runtime_c with CMake to see why)")
    # Only what the called kernels need (runtime_c/kernels.json): their sources and those they call,
    # the public headers those include, the private headers beside the sources. model.c includes the
    # headers declaring what it calls and defining what their parameters spell (types, MCUF_ACT_RELU);
    # mcuf_common.h always ships: the weights header uses its types.
    kernel_srcs = files_for(functions, target)
    spelled = {n for st in all_steps if st.params_type for n in _c_names([st.params_type, *st.params.values()])}
    model_headers = sorted({*declaring_headers(functions), *headers_defining(spelled)})
    public_headers = include_closure([*headers_for(functions, target), *model_headers, "mcuf_common.h"])
    private_headers = private_headers_for(functions, target)
    platform = platform_files(target)

    used = []
    seen = set()
    for st in all_steps:
        for t in (*st.reads, *st.writes):
            if t not in seen:
                seen.add(t)
                used.append(prog.buffers[t])
    scratch = [(i, prog.buffers[f"scratch:{i}"]) for i, st in enumerate(all_steps) if st.scratch_bytes]
    header = [f"Generated by mcuforge {__version__}. Do not edit: regenerate instead.",
              f"command: {command_line}", f"model sha256: {model_sha256}", f"producer: {producer}",
              f"precision: {prog.precision}; arena {prog.arena_bytes} bytes (lower bound {prog.arena_lower_bound}); "
              f"constants {prog.flash_bytes} bytes; {prog.macs} MACs per inference"]
    headers_needed = [h.name for h in model_headers] or ["mcuf_common.h"]
    ctx = dict(name=name, NAME=NAME, prog=prog, header=header, layers=layers,
               input_steps=rendered[:n_in], output_steps=rendered[n_in + len(prog.steps):],
               buffers=used, offsets=prog.offsets, scratch=scratch, consts=prog.consts,
               array_lines=array_lines, kernel_headers=headers_needed,
               kernel_sources=[p.name for p in kernel_srcs], platform_sources=[p.name for p in platform],
               n_layers=n_nodes)

    out_dir = Path(out_dir)
    (out_dir / "include").mkdir(parents=True, exist_ok=True)
    (out_dir / "src").mkdir(exist_ok=True)
    (out_dir / "kernels" / "include").mkdir(parents=True, exist_ok=True)
    (out_dir / "kernels" / "src").mkdir(parents=True, exist_ok=True)
    files = {
        "header": out_dir / "include" / f"{name}.h",
        "source": out_dir / "src" / f"{name}.c",
        "weights": out_dir / "src" / f"{name}_weights.c",
        "weights_header": out_dir / "src" / f"{name}_weights.h",
        "cmake": out_dir / "CMakeLists.txt",
        "example": out_dir / "main.c",
    }
    files["header"].write_text(_render(env, "model.h.j2", **ctx))
    files["source"].write_text(_render(env, "model.c.j2", **ctx))
    files["weights"].write_text(_render(env, "model_weights.c.j2", **ctx))
    files["weights_header"].write_text(_render(env, "model_weights.h.j2", **ctx))
    files["cmake"].write_text(_render(env, "CMakeLists.txt.j2", **ctx))
    files["example"].write_text(_render(env, "main.c.j2", **ctx))
    for h in public_headers:
        shutil.copy2(h, out_dir / "kernels" / "include" / h.name)
    for f in (*kernel_srcs, *private_headers):
        shutil.copy2(f, out_dir / "kernels" / "src" / f.name)
    if platform:
        (out_dir / "platform").mkdir(exist_ok=True)
    for p in platform:
        shutil.copy2(p, out_dir / "platform" / p.name)
    return files
