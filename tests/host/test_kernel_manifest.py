"""runtime_c/kernels.json is honest: rebuilt from the real symbols (every kernel source compiled for each
manifest target, symbol tables read with nm, by runtime_c/tools/gen_kernel_manifest.py) it is the committed
file; and a generated project ships only the kernel files its model uses, and still builds on its own."""
from __future__ import annotations

import difflib
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mcuforge.core.paths import KERNEL_MANIFEST

REPO = Path(__file__).resolve().parent.parent.parent
GENERATOR = REPO / "runtime_c" / "tools" / "gen_kernel_manifest.py"
MODEL = REPO / "tests" / "models" / "mnist_cnn.onnx"
SAMPLES = REPO / "tests" / "models" / "mnist_cnn.input.npz"
TOOLS = ("gcc", "nm", "clang-19", "riscv64-unknown-elf-nm")


def _generator():
    spec = importlib.util.spec_from_file_location("gen_kernel_manifest", GENERATOR)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_manifest_matches_the_compiled_symbols():
    missing = [t for t in TOOLS if not shutil.which(t)]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (bash scripts/setup.sh installs them)")
    gen = _generator()
    want = gen.dumps(gen.build_manifest())
    have = KERNEL_MANIFEST.read_text()
    if have != want:
        diff = "".join(list(difflib.unified_diff(have.splitlines(True), want.splitlines(True), "committed",
                                                 "from the symbols", n=1))[:60])
        pytest.fail("runtime_c/kernels.json does not match the kernels' symbols: regenerate it with\n"
                    "    .venv/bin/python runtime_c/tools/gen_kernel_manifest.py\nand commit it.\n" + diff)


def _compile(out: Path, precision: str) -> None:
    p = subprocess.run([sys.executable, "-m", "mcuforge.cli", "compile", str(MODEL), "--target", "host",
                        "--precision", precision, "--calib", str(SAMPLES), "--out", str(out), "--no-measure",
                        "--quiet"], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr


@pytest.fixture(scope="module")
def projects(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("projects")
    for precision in ("int8", "fp32"):
        _compile(root / precision, precision)
    return {p: root / p / "c" for p in ("int8", "fp32")}


def test_int8_project_ships_no_float_kernels(projects):
    c = projects["int8"]
    names = {p.name for p in c.rglob("*") if p.is_file()}
    assert not any(n.endswith("_blocks.h") for n in names), sorted(names)
    assert "mcuf_optim.h" not in names and "mcuf_matmul.h" not in names
    # the int8 sources of each family used (the headers are the families', shared with float)
    assert sorted(p.name for p in (c / "kernels" / "src").glob("*.c")) == [
        "mcuf_conv_s8.c", "mcuf_convert.c", "mcuf_linear_s8.c", "mcuf_pool_s8.c"]
    included = [line.split('"')[1] for line in (c / "src" / "model.c").read_text().splitlines()
                if line.startswith('#include "mcuf_')]
    assert included == ["mcuf_conv.h", "mcuf_convert.h", "mcuf_linear.h", "mcuf_pool.h"]


@pytest.mark.parametrize("precision", ["int8", "fp32"])
def test_project_builds_from_its_own_files(projects, precision):
    """gcc on the project's sources with only the project's include folders (`mcuforge run` also puts
    runtime_c/include on the path, which would hide a header left out), then run the example."""
    c = projects[precision]
    if not shutil.which("gcc"):
        pytest.skip("needs gcc")
    included = {line.split('"')[1] for f in c.rglob("*.[ch]") for line in f.read_text().splitlines()
                if line.lstrip().startswith('#include "')}
    shipped = {p.name for p in c.rglob("*.h")}
    assert included <= shipped, sorted(included - shipped)
    srcs = [c / "main.c", c / "src" / "model.c", c / "src" / "model_weights.c",
            *sorted((c / "kernels" / "src").glob("*.c"))]
    incs = [f"-I{c / d}" for d in ("include", "src", "kernels/include", "kernels/src")]
    exe = c.parent / "example"
    b = subprocess.run(["gcc", "-std=c11", "-O1", "-Wall", "-Wextra", "-Werror", *incs, *map(str, srcs), "-o",
                        str(exe), "-lm"], capture_output=True, text=True)
    assert b.returncode == 0, b.stderr
    r = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr

