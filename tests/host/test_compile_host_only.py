"""`mcuforge compile --target host` and `mcuforge run` need only the host C compiler: kernel choice and the
files a project ships come from runtime_c/kernels.json, not from RISC-V tools or a warm build cache."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

REPO = Path(__file__).resolve().parent.parent.parent
MODEL = REPO / "tests" / "models" / "mnist_cnn.onnx"
SAMPLES = REPO / "tests" / "models" / "mnist_cnn.input.npz"
# What gcc runs besides its own libexec programs (it looks up the assembler and linker on PATH).
HOST_TOOLS = ("gcc", "cc", "as", "ld")
ABSENT = ("riscv64-unknown-elf-gcc", "riscv64-unknown-elf-nm", "clang-19", "clang", "qemu-system-riscv32", "nm")


@pytest.fixture(scope="module")
def host_only_env(tmp_path_factory) -> dict[str, str]:
    """An environment whose PATH holds symlinks to the host toolchain only, and an empty build cache."""
    missing = [t for t in HOST_TOOLS if not shutil.which(t)]
    if missing:
        pytest.skip(f"host toolchain incomplete: {', '.join(missing)} (apt-get install gcc)")
    bin_dir = tmp_path_factory.mktemp("bin")
    for t in HOST_TOOLS:
        (bin_dir / t).symlink_to(shutil.which(t))
    cache = tmp_path_factory.mktemp("cache")
    env = {k: v for k, v in os.environ.items() if k not in ("PATH", "MCUFORGE_CACHE")}
    env.update(PATH=str(bin_dir), MCUFORGE_CACHE=str(cache))
    assert not any(shutil.which(t, path=env["PATH"]) for t in ABSENT)
    assert not any(cache.iterdir())
    return env


def _mcuforge(env: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mcuforge.cli", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=300)


def test_compile_and_run_for_the_host_without_riscv_tools(host_only_env, tmp_path):
    out = tmp_path / "out"
    p = _mcuforge(host_only_env, "compile", str(MODEL), "--target", "host", "--precision", "fp32",
                  "--out", str(out), "--no-measure", "--quiet", cwd=tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    r = _mcuforge(host_only_env, "run", str(out), "--input", str(SAMPLES), "--output", str(tmp_path / "y.npz"),
                  cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert (Path(host_only_env["MCUFORGE_CACHE"]) / "build" / "host").is_dir()  # the build used the empty cache
    x = np.load(SAMPLES)["x"]  # [N, 1, 1, 28, 28]: N samples of the batch-1 input
    sess = ort.InferenceSession(str(MODEL))
    ref = np.stack([sess.run(None, {"x": xi})[0] for xi in x])
    got = np.load(tmp_path / "y.npz")["y"]
    assert got.shape == ref.shape == (len(x), 1, 10)
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max())
