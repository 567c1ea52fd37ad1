#!/usr/bin/env bash
# ctest's emulator for bare-metal RV32 tests: qemu-run.sh CPU PROGRAM.elf
# The program's exit status (main's return value, via semihosting) becomes ours.
set -euo pipefail
cpu=$1
elf=$2
exec timeout 300 qemu-system-riscv32 -machine virt -nographic -bios none -monitor none \
  -semihosting-config enable=on,target=native -icount shift=0 -cpu "$cpu" -kernel "$elf" </dev/null 2>&1
