"""`mcuforge bench kernels`: every kernel family's micro-benchmarks under QEMU, one table.

Each family module measures its own kernels (mcuforge.bench.matmul: matmul and matmul-based
layers; mcuforge.bench.inference: the FP32 inference kernels; mcuforge.bench.layers: the other training
layers) and returns records of one shape:
{"kernel", "dtype", "backend", "shape", "macs", "instret", "mac_per_instr", "max_rel_err"}.
"""
from __future__ import annotations

from mcuforge.core.errors import McufError
from mcuforge.core.targets import get_target


def run_bench_kernels(target_name: str, quiet: bool = False) -> list[dict]:
    """All kernel benchmark records for an emulated target (retired instructions are exact there)."""
    target = get_target(target_name)
    if not target.emulated:
        raise McufError(f"kernel benchmarks count retired instructions under QEMU; '{target_name}' has no counter. "
                        "Use --target rv32, rv32-zfh or rv32-zvfh")
    from mcuforge.bench.inference import run_infer_bench
    from mcuforge.bench.matmul import run_kernel_bench
    from mcuforge.bench.layers import layer_bench_records

    return (run_kernel_bench(target_name, quiet=quiet) + run_infer_bench(target_name, quiet=quiet)
            + layer_bench_records(target_name, quiet=quiet))


def format_table(records: list[dict]) -> str:
    """The table printed by `mcuforge bench kernels` (one format for every family's records)."""
    from mcuforge.bench.matmul import format_table as table

    return table(records)
