"""The wheel works outside the checkout: built from a copy of the sources, it holds only the `mcuforge`
package (code, runtime_c, templates, kernel manifest as package data) and its dist-info; installed into a
bare folder and run with the checkout out of reach, `mcuforge compile` + `mcuforge run` reproduce
onnxruntime on tests/models/mnist_cnn.onnx (fp32 and int8), with the build cache in the user's cache
directory. Slow-ish for a host test (about 15 s: a wheel build, two compiles, two C builds)."""
from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

REPO = Path(__file__).resolve().parent.parent.parent
MODEL = REPO / "tests" / "models" / "mnist_cnn.onnx"
SAMPLES = REPO / "tests" / "models" / "mnist_cnn.input.npz"
# What a wheel is built from: the project files, not the tests, caches, builds or the editable install's
# egg-info (setuptools reuses an in-tree build/ folder, whose stale files would leak into the wheel).
_SKIP_TOP = {".git", ".venv", ".mcuforge-cache", "tests", "scripts", ".ci"}
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build*", "out*", ".pytest_cache")


def _can_build_wheels() -> bool:
    """setuptools builds wheels itself from 70.1; older ones need the `wheel` package."""
    if importlib.util.find_spec("wheel") is not None:
        return True
    import setuptools

    return tuple(int(x) for x in setuptools.__version__.split(".")[:2]) >= (70, 1)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    # scripts/setup.sh installs the test extras, `wheel` among them: missing, the setup is broken
    assert _can_build_wheels(), ("building a wheel offline needs the 'wheel' package next to setuptools < 70.1: "
                                 "run bash scripts/setup.sh (it installs the test extras)")
    root = tmp_path_factory.mktemp("wheel")
    src = root / "src"
    src.mkdir()
    for p in REPO.iterdir():
        if p.name in _SKIP_TOP or _IGNORE(str(REPO), [p.name]):
            continue
        if p.is_dir():
            shutil.copytree(p, src / p.name, ignore=_IGNORE)
        else:
            shutil.copy2(p, src / p.name)
    dist = root / "dist"
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                           "--disable-pip-version-check", "-q", "-w", str(dist), str(src)],
                          capture_output=True, text=True, cwd=root, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (whl,) = dist.glob("mcuforge-*.whl")
    return whl


def test_wheel_holds_only_the_package_and_its_data(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names}
    assert top == {"mcuforge", next(t for t in top if t.endswith(".dist-info"))}, sorted(top)
    files = set(names)

    def shipped(folder: str, pattern: str) -> set[str]:
        return {f"mcuforge/{folder}/{p.name}" for p in (REPO / folder).glob(pattern)}

    for folder, pattern in [("runtime_c/include", "*.h"), ("runtime_c/src", "*.[ch]"),
                            ("runtime_c/platform", "*.c"), ("runtime_c/harness", "*.[ch]"), ("templates", "*.j2")]:
        want = shipped(folder, pattern)
        assert want and want <= files, sorted(want - files)
    assert "mcuforge/runtime_c/kernels.json" in files
    from mcuforge.bench.layers import DRIVER  # C files the installed commands build, beside the kernels
    from mcuforge.core.paths import BENCH_C, DATA_ROOT

    wanted = [DRIVER, *BENCH_C.glob("*.c"), *(REPO / "examples" / "digits").glob("*.onnx")]
    assert {f"mcuforge/{p.relative_to(DATA_ROOT).as_posix()}" for p in wanted} <= files
    assert {"mcuforge/cli.py", "mcuforge/codegen/kernels.py", "mcuforge/core/paths.py"} <= files
    assert not any("/tools/" in n or "__pycache__" in n for n in names)  # generators stay in the checkout
    assert not any(n.startswith("mcuforge/runtime_c/tests/test_") for n in names)  # so do the C unit tests


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> tuple[Path, dict[str, str], Path]:
    """(site folder holding the installed wheel, environment for a python that sees only it plus the
    venv's third-party packages, a working folder outside the checkout)."""
    root = tmp_path_factory.mktemp("installed")
    site = root / "site"
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q",
                           "--disable-pip-version-check", "--target", str(site), str(wheel)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # -S below skips site-packages' .pth files, so the editable install's finder (which maps mcuforge to
    # the checkout) is never installed; the venv's packages are reached through PYTHONPATH instead.
    deps = sysconfig.get_paths()["purelib"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "MCUFORGE_"))}
    env.update(PYTHONPATH=os.pathsep.join([str(site), deps]), XDG_CACHE_HOME=str(root / "xdg"))
    work = root / "work"
    work.mkdir()
    return site, env, work


def _python(env: dict[str, str], cwd: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    # -S: no site (.pth) processing; -s: no user site; -P: no script/cwd directory on sys.path.
    return subprocess.run([sys.executable, "-S", "-s", "-P", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=timeout)


def test_checkout_is_out_of_reach(installed):
    site, env, work = installed
    p = _python(env, work, "-c", "import importlib.util as u, mcuforge, mcuforge.core.paths as P\n"
                "print(mcuforge.__file__); print(P.RUNTIME_C); print(P.default_cache_dir())\n"
                "print(u.find_spec('toolchain'), u.find_spec('codegen'))")
    assert p.returncode == 0, p.stderr
    file, runtime_c, cache, specs = p.stdout.splitlines()
    assert Path(file).is_relative_to(site) and Path(runtime_c) == site / "mcuforge" / "runtime_c"
    assert Path(cache) == Path(env["XDG_CACHE_HOME"]) / "mcuforge"
    assert specs == "None None"
    assert not Path(work).is_relative_to(REPO)


def _compile_and_run(installed, precision: str) -> tuple[np.ndarray, Path]:
    _, env, work = installed
    out = work / f"out_{precision}"
    c = _python(env, work, "-m", "mcuforge.cli", "compile", str(MODEL), "--target", "host", "--precision", precision,
                "--calib", str(SAMPLES), "--out", str(out), "--no-measure", "--quiet")
    assert c.returncode == 0, c.stdout + c.stderr
    r = _python(env, work, "-m", "mcuforge.cli", "run", str(out), "--input", str(SAMPLES), "--output",
                str(work / f"y_{precision}.npz"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert (Path(env["XDG_CACHE_HOME"]) / "mcuforge" / "build" / "host").is_dir()
    return np.load(work / f"y_{precision}.npz")["y"], out


def _ort(model: Path) -> np.ndarray:
    sess = ort.InferenceSession(str(model))
    return np.stack([sess.run(None, {"x": x})[0] for x in np.load(SAMPLES)["x"]])


def test_installed_wheel_compiles_and_runs_fp32(installed):
    y, _ = _compile_and_run(installed, "fp32")
    ref = _ort(MODEL)
    assert y.shape == ref.shape
    np.testing.assert_allclose(y, ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max())


def test_installed_wheel_compiles_and_runs_int8(installed):
    y, out = _compile_and_run(installed, "int8")
    qdq = out / "quantized.onnx"
    ref = _ort(qdq)
    g = onnx.load(str(qdq)).graph
    (deq,) = [n for n in g.node if n.output[0] == g.output[0].name]
    step = float(onnx.numpy_helper.to_array(next(i for i in g.initializer if i.name == deq.input[1])))
    assert y.shape == ref.shape
    assert np.abs(y - ref).max() <= step * 1.001  # onnxruntime on the QDQ model, within one output step
    assert (y.argmax(-1) == _ort(MODEL).argmax(-1)).all()
