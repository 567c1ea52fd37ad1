"""The command line: user errors exit non-zero with one message, never a traceback."""
from __future__ import annotations

import subprocess
import sys


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mcuforge.cli", *args], capture_output=True, text=True)


def test_bench_on_host_is_refused_clearly():
    proc = _cli("bench", "kernels", "--target", "host")
    assert proc.returncode == 2
    assert "invalid choice: 'host'" in proc.stderr and "Traceback" not in proc.stderr


def test_unknown_command_is_refused_clearly():
    proc = _cli("frobnicate")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
