"""Build and run targets as plain data: compiler, flags, link line, emulator command line.

Adding a board is adding an entry here (or loading one from JSON with `Target(**d)`), not a subclass.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from mcuforge.core.errors import McufError

PICOLIBC = "/usr/lib/picolibc/riscv64-unknown-elf"


@dataclass(frozen=True)
class Tool:
    """An external program and the Debian package that provides it (named in 'not found' errors)."""

    command: str
    package: str


@dataclass(frozen=True)
class Target:
    """Everything needed to compile, link and run code for one target.

    `emulator_args` may contain "{elf}" (the program) and is empty for native targets.
    `cost_unit` names what the target's counter measures ("instructions" under QEMU with
    -icount shift=0; a board would say "cycles"); None when the target has no counter (host).
    """

    name: str
    description: str
    arch: str
    cc: Tool
    cflags: tuple[str, ...]
    linker: Tool
    ldflags: tuple[str, ...]
    libs: tuple[str, ...] = ("-lm",)
    emulator: Tool | None = None
    emulator_args: tuple[str, ...] = ()
    word_bits: int = 32
    vector_bits: int = 0
    fp16: str = "soft"  # "native" (Zfh), "vector" (Zfh + Zvfh) or "soft" (storage only)
    cost_unit: str | None = "instructions"
    startup_sources: tuple[str, ...] = field(default=())

    @property
    def emulated(self) -> bool:
        return self.emulator is not None


_HOST_CFLAGS = ("-std=c11", "-O2", "-ffp-contract=fast", "-Wall", "-Wextra", "-Werror", "-fno-strict-aliasing")

_RV_LINK = (
    "-mabi=ilp32f",
    "--specs=picolibc.specs",
    "--oslib=semihost",
    "--crt0=semihost",
    # QEMU virt: 4 MiB "flash" for code and constants at the start of DRAM, RAM after it.
    "-Wl,--defsym=__flash=0x80000000",
    "-Wl,--defsym=__flash_size=0x400000",
    "-Wl,--defsym=__ram=0x80400000",
    "-Wl,--defsym=__ram_size=0x1000000",
    "-Wl,--defsym=__stack_size=0x10000",
    "-Wl,--gc-sections",
)

_RV_START = ("platform/mcuf_rv_start.c", "platform/mcuf_f16_soft.c")

_QEMU = Tool("qemu-system-riscv32", "qemu-system-misc")
_CLANG = Tool("clang-19", "clang-19")
_RVGCC = Tool("riscv64-unknown-elf-gcc", "gcc-riscv64-unknown-elf")


def _rv_target(name: str, march: str, cpu: str, description: str, vector_bits: int, fp16: str) -> Target:
    cflags = (
        "--target=riscv32-unknown-elf",
        f"-march={march}",
        "-mabi=ilp32f",
        "-std=c11",
        "-O3",
        # Without it clang emits fmul + fadd instead of the fused fmadd (riscv-qemu.md).
        "-ffp-contract=fast",
        "-ffunction-sections",
        "-fdata-sections",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-fno-strict-aliasing",
        "-isystem",
        f"{PICOLIBC}/include",
    )
    qemu = (
        "-machine", "virt", "-nographic", "-bios", "none", "-monitor", "none",
        "-semihosting-config", "enable=on,target=native",
        "-icount", "shift=0", "-cpu", cpu, "-kernel", "{elf}",
    )
    return Target(
        name=name,
        description=description,
        arch="riscv32",
        cc=_CLANG,
        cflags=cflags,
        # The GCC driver is the simplest linker: it knows picolibc's specs, the multilibs and libgcc.
        linker=_RVGCC,
        ldflags=("-march=rv32imafc",) + _RV_LINK,
        emulator=_QEMU,
        emulator_args=qemu,
        vector_bits=vector_bits,
        fp16=fp16,
        startup_sources=_RV_START,
    )


TARGETS: dict[str, Target] = {
    "host": Target(
        name="host",
        description="x86-64 host, gcc; tests through cffi or a driver program",
        arch="x86_64",
        cc=Tool("gcc", "gcc"),
        cflags=_HOST_CFLAGS,
        linker=Tool("gcc", "gcc"),
        ldflags=(),
        word_bits=64,
        fp16="soft",
        cost_unit=None,
    ),
    "rv32": _rv_target("rv32", "rv32imafc", "rv32", "RV32IMAFC, single-precision FPU", 0, "soft"),
    "rv32-zfh": _rv_target(
        "rv32-zfh", "rv32imafc_zfh", "rv32,Zfh=true", "RV32IMAFC + Zfh scalar FP16", 0, "native"
    ),
    "rv32-zvfh": _rv_target(
        "rv32-zvfh",
        "rv32imafcv_zfh_zvfh",
        "rv32,Zfh=true,v=true,vlen=128,elen=64,vext_spec=v1.0",
        "RV32IMAFCV + Zfh + Zvfh, RVV 1.0 at VLEN 128",
        128,
        "vector",
    ),
}


def get_target(name: str) -> Target:
    """The target called `name`, or an error listing the known ones."""
    try:
        return TARGETS[name]
    except KeyError:
        raise McufError(f"unknown target '{name}': choose one of {', '.join(TARGETS)}") from None
