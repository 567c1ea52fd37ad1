"""`mcuforge bench kernels`: every kernel family's micro-benchmarks under QEMU, one table.

Each family module measures its own kernels (toolchain.bench_kernels: matmul and matmul-based
layers; toolchain.bench_infer: the FP32 inference kernels; toolchain.bench_layers: the other training
layers) and returns records of one shape:
{"kernel", "dtype", "backend", "shape", "macs", "instret", "mac_per_instr", "max_rel_err"}.
"""
from __future__ import annotations

from .errors import McufError
from .targets import get_target


def run_bench_kernels(target_name: str, quiet: bool = False) -> list[dict]:
    """All kernel benchmark records for an emulated target (retired instructions are exact there)."""
    target = get_target(target_name)
    if not target.emulated:
        raise McufError(f"kernel benchmarks count retired instructions under QEMU; '{target_name}' has no counter. "
                        "Use --target rv32, rv32-zfh or rv32-zvfh")
    from .bench_infer import run_infer_bench
    from .bench_kernels import run_kernel_bench
    from .bench_layers import layer_bench_records

    return (run_kernel_bench(target_name, quiet=quiet) + run_infer_bench(target_name, quiet=quiet)
            + layer_bench_records(target_name, quiet=quiet))


def format_table(records: list[dict]) -> str:
    """The table printed by `mcuforge bench kernels` (one format for every family's records)."""
    from .bench_kernels import format_table as table

    return table(records)
