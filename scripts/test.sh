#!/usr/bin/env bash
# The whole test suite: set up (idempotent), pytest (unit, host, QEMU), then the C kernel tests with
# ctest on the host and cross-compiled for RISC-V under QEMU.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --quiet

.venv/bin/python -m pytest -q -p no:cacheprovider tests "$@"

jobs=$(nproc)
cmake -S . -B build/ctest-host -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/ctest-host -j "$jobs" >/dev/null
ctest --test-dir build/ctest-host --output-on-failure -j "$jobs"
for t in rv32-zfh rv32-zvfh; do
  cmake -S . -B "build/ctest-$t" -DCMAKE_TOOLCHAIN_FILE=cmake/riscv32.cmake -DMCUF_TARGET="$t" >/dev/null
  cmake --build "build/ctest-$t" -j "$jobs" >/dev/null
  ctest --test-dir "build/ctest-$t" --output-on-failure -j "$jobs"
done
