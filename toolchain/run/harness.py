"""Build C for a target, run it (natively or under QEMU), pass tensors in and out, collect counts.

A program is built from sources + include dirs + defines; the executable is cached under a key made of
everything that can change it (tool versions, flags, the bytes of every source and header it can
include), so a repeated build costs only the hashing.

Drivers speak through runtime_c/harness/mcuf_io.h: tensors are files in the run folder, counts of
retired instructions are "@mcuf count <region> <n>" lines on stdout.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np

from mcuforge.run import tensorfile
from mcuforge.core.errors import McufError
from mcuforge.core.paths import HARNESS_C, RUNTIME_C, RUNTIME_INCLUDE, default_cache_dir
from mcuforge.core.targets import Target, Tool

_COUNT_RE = re.compile(r"^@mcuf count (\S+) (\d+)\s*$", re.M)
_HEADER_SUFFIXES = (".h", ".inc")


@dataclass(frozen=True)
class Build:
    """A built executable (path-like) and whether it came from the cache."""

    path: Path
    target: str
    cached: bool

    def __fspath__(self) -> str:
        return str(self.path)


@dataclass(frozen=True)
class RunResult:
    """What a run produced: output tensors by name, counts by region, the program's stdout."""

    outputs: Mapping[str, np.ndarray]
    counts: Mapping[str, int]
    stdout: str
    returncode: int = 0
    run_dir: Path | None = field(default=None, compare=False)


def require_tool(tool: Tool) -> str:
    """Absolute path of `tool`, or one clear error naming the Debian package that provides it."""
    found = shutil.which(tool.command)
    if not found:
        raise McufError(
            f"'{tool.command}' was not found on PATH: install the Debian package '{tool.package}' "
            f"(apt-get install {tool.package}; bash scripts/setup.sh installs everything mcuforge needs)"
        )
    return found


@lru_cache(maxsize=None)
def _tool_identity(path: str) -> str:
    """First line of `--version`: a compiler upgrade must invalidate cached builds."""
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        out = ""
    return out.splitlines()[0] if out else path


def _headers_under(dirs: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for d in dirs:
        d = Path(d)
        if d.is_dir():
            files.extend(p for p in sorted(d.rglob("*")) if p.suffix in _HEADER_SUFFIXES and p.is_file())
    return files


def _build_key(target: Target, sources: Sequence[Path], include_dirs: Sequence[Path],
               defines: Mapping[str, str | int | None], tool_ids: Sequence[str]) -> str:
    h = hashlib.sha256()
    for part in (target.name, *target.cflags, *target.ldflags, *target.libs, *tool_ids):
        h.update(part.encode() + b"\0")
    for k in sorted(defines):
        h.update(f"-D{k}={defines[k]}".encode() + b"\0")
    for src in sources:
        h.update(str(src).encode() + b"\0" + Path(src).read_bytes() + b"\0")
    # Private headers sit beside the sources that include them (#include "x.h" searches there first).
    dirs = dict.fromkeys([*include_dirs, *(Path(src).parent for src in sources)])
    for hdr in _headers_under(dirs):
        h.update(str(hdr).encode() + b"\0" + hdr.read_bytes() + b"\0")
    return h.hexdigest()[:24]


def _define_flags(defines: Mapping[str, str | int | None]) -> list[str]:
    return [f"-D{k}" if v is None else f"-D{k}={v}" for k, v in sorted(defines.items())]


def _run_tool(cmd: list[str], what: str, cwd: Path) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd)
    if proc.returncode != 0:
        raise McufError(f"{what} failed (exit {proc.returncode}):\n$ {' '.join(cmd)}\n{proc.stdout}{proc.stderr}".rstrip())


def build(target: Target, sources: Sequence[str | Path], include_dirs: Sequence[str | Path] = (),
          defines: Mapping[str, str | int | None] | None = None, cache_dir: Path | None = None,
          with_io: bool = True) -> Build:
    """Compile and link `sources` into an executable for `target` (cached by content hash).

    `with_io` links runtime_c/harness/mcuf_io.c and puts its header on the include path. Bare-metal
    targets also get their start-up support (vector unit enable, soft FP16 conversions).
    """
    defines = dict(defines or {})
    srcs = [Path(s).resolve() for s in sources]
    incs = [Path(d).resolve() for d in include_dirs] + [RUNTIME_INCLUDE]
    if with_io:
        srcs.append(HARNESS_C / "mcuf_io.c")
        incs.append(HARNESS_C)
    srcs.extend(RUNTIME_C / s for s in target.startup_sources)
    for s in srcs:
        if not s.is_file():
            raise McufError(f"C source {s} does not exist")
    cc = require_tool(target.cc)
    ld = require_tool(target.linker)
    key = _build_key(target, srcs, incs, defines, [_tool_identity(cc), _tool_identity(ld)])
    out_dir = Path(cache_dir or default_cache_dir()) / "build" / target.name / key
    exe = out_dir / ("prog.elf" if target.emulated else "prog")
    if exe.is_file():
        return Build(exe, target.name, cached=True)

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=out_dir.parent))
    try:
        inc_flags = [f"-I{d}" for d in incs]
        objs = []
        for i, src in enumerate(srcs):
            obj = work / f"{i:03d}_{src.stem}.o"
            _run_tool([cc, *target.cflags, *inc_flags, *_define_flags(defines), "-c", str(src), "-o", str(obj)],
                      f"compiling {src.name} for {target.name}", work)
            objs.append(str(obj))
        tmp_exe = work / exe.name
        _run_tool([ld, *target.ldflags, *objs, "-o", str(tmp_exe), *target.libs],
                  f"linking for {target.name}", work)
        # Rename the whole folder into place: a concurrent or interrupted build never leaves a
        # half-written executable under the final key.
        try:
            work.rename(out_dir)
        except OSError:
            if not exe.is_file():
                raise
        return Build(exe, target.name, cached=False)
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)


_MCAUSE = {0: "instruction address misaligned", 1: "instruction access fault", 2: "illegal instruction",
           3: "breakpoint", 4: "load address misaligned", 5: "load access fault",
           6: "store address misaligned", 7: "store access fault"}


def _fault_summary(stdout: str) -> str:
    m = re.search(r"mcause:\s*0x([0-9a-fA-F]+)", stdout)
    pc = re.search(r"mepc:\s*0x([0-9a-fA-F]+)", stdout)
    if not m:
        return "CPU fault"
    cause = int(m.group(1), 16)
    where = f" at pc 0x{pc.group(1)}" if pc else ""
    return f"CPU fault: {_MCAUSE.get(cause, f'mcause {cause}')}{where}"


def run(target: Target, exe: str | os.PathLike, inputs: Mapping[str, np.ndarray] | None = None,
        timeout: float = 120.0, run_dir: Path | None = None, keep: bool = False) -> RunResult:
    """Run a built program with `inputs` as tensor files; return its output tensors and counts.

    Raises McufError, carrying the program's output, if it faults, exceeds `timeout` seconds or
    exits non-zero. The run folder is temporary unless `run_dir` is given or `keep` is set.
    """
    exe_path = Path(os.fspath(exe)).resolve()
    owns_dir = run_dir is None
    rdir = Path(run_dir) if run_dir else Path(tempfile.mkdtemp(prefix="mcuf-run-"))
    rdir.mkdir(parents=True, exist_ok=True)
    try:
        names_in = set()
        for name, arr in (inputs or {}).items():
            tensorfile.write(rdir / f"{name}.bin", np.asarray(arr))
            names_in.add(f"{name}.bin")
        if target.emulated:
            assert target.emulator is not None
            cmd = [require_tool(target.emulator), *(a.replace("{elf}", str(exe_path)) for a in target.emulator_args)]
        else:
            cmd = [str(exe_path)]
        try:
            # QEMU 7.2 writes the semihosting console to stderr: merge the streams so the program's
            # output reads in order whatever the target.
            proc = subprocess.run(cmd, cwd=rdir, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, timeout=timeout)
        except subprocess.TimeoutExpired as e:
            partial = (e.stdout or b"").decode(errors="replace")
            raise McufError(
                f"{exe_path.name} on {target.name} did not finish within {timeout:g} s (hung, or needs a "
                f"longer timeout); its output so far:\n{partial[-4000:]}".rstrip()
            ) from None
        stdout = proc.stdout.decode(errors="replace")
        if "RISCV fault" in stdout:
            raise McufError(f"{exe_path.name} on {target.name}: {_fault_summary(stdout)}; its output:\n{stdout[-4000:]}")
        if proc.returncode != 0:
            if proc.returncode < 0:
                why = f"killed by signal {signal.Signals(-proc.returncode).name}"
            else:
                why = f"exited with status {proc.returncode}"
            raise McufError(f"{exe_path.name} on {target.name} {why}; its output:\n{stdout[-4000:]}".rstrip())
        outputs = {
            p.stem: tensorfile.read(p)
            for p in sorted(rdir.glob("*.bin")) if p.name not in names_in
        }
        counts = {m.group(1): int(m.group(2)) for m in _COUNT_RE.finditer(stdout)}
        return RunResult(outputs, counts, stdout, proc.returncode, rdir if (keep or not owns_dir) else None)
    finally:
        if owns_dir and not keep:
            shutil.rmtree(rdir, ignore_errors=True)


def build_and_run(target: Target, sources: Sequence[str | Path], inputs: Mapping[str, np.ndarray] | None = None,
                  include_dirs: Sequence[str | Path] = (), defines: Mapping[str, str | int | None] | None = None,
                  timeout: float = 120.0, cache_dir: Path | None = None) -> RunResult:
    """`build` then `run`, for the common one-shot case."""
    exe = build(target, sources, include_dirs, defines, cache_dir=cache_dir)
    return run(target, exe, inputs, timeout=timeout)
