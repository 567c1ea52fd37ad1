"""Generate the inline-assembly register blocks of the scalar RISC-V matmuls:

  runtime_c/src/mcuf_matmul_f16_zfh_blocks.h  kinds "h" (FP16, FP16 accumulate: flh + fmadd.h) and
                                              "hs" (FP16 in/out, FP32 accumulate: flh + fcvt.s.h + fmadd.s)
  runtime_c/src/mcuf_matmul_f32_rvf_blocks.h  kind "s" (FP32: flw + fmadd.s)

Why generated assembly: clang's scheduler hoists the loads of a fully unrolled 5x5 block above the
multiply-adds that consume them and then spills accumulators, which costs more than the blocking saves
(measured on rv32-zfh: 0.30 MAC/instr fully unrolled in C against 0.52 partially unrolled, 0.66 here).
Written out, a block pins its 25 accumulators, 5 A values and 2 B values to the 32 FP registers.

Each block computes C[0..MR) x [0..NR) = (accumulate ? C : 0) + bias + A.B over K >= 1, with the K loop
unrolled KU times (KU_OF) and loads at immediate offsets; the pointer updates left are one add per k for an
operand whose rows are strided in k (B in nn/tn, A in tn) and one addi per KU steps otherwise.

Run: python runtime_c/tools/gen_matmul_blocks.py  (rewrites both headers; the output is deterministic;
--out-dir DIR writes them elsewhere, as tests/unit/test_generated_sources.py does to compare).
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

# K unroll of the main loop per kind: 16 for the FP16 blocks the targets are set on (1-2 % faster than 8),
# 8 for the FP32-accumulating and FP32 ones, halving their code (each 5x5 block is ~KU * 36 instructions).
KU_OF = {"h": 16, "hs": 8, "s": 8}
SIZES = ((5, 5), (5, 4), (4, 5), (4, 4))
FORMS = ("nn", "nt", "tn")

FREGS = [f"ft{i}" for i in range(12)] + [f"fs{i}" for i in range(12)] + [f"fa{i}" for i in range(8)]
ACC = FREGS[:25]
AREG = FREGS[25:30]
BREG = FREGS[30:32]


@dataclass(frozen=True)
class Kind:
    """Element and accumulator formats of one block family."""

    name: str
    ctype: str      # element type in C
    esize: int      # element bytes
    load: str       # FP load of one element
    store: str      # FP store of one element
    widen: bool     # convert each loaded FP16 value to FP32 (fcvt.s.h) and round C once (fcvt.h.s)
    fma: str
    fmv: str        # register move in the accumulator format
    fmvx: str       # move from x0 (zero) in the accumulator format
    fadd: str


KINDS = {
    "h": Kind("h", "mcuf_f16", 2, "flh", "fsh", False, "fmadd.h", "fmv.h", "fmv.h.x", "fadd.h"),
    "hs": Kind("hs", "mcuf_f16", 2, "flh", "fsh", True, "fmadd.s", "fmv.s", "fmv.w.x", "fadd.s"),
    "s": Kind("s", "float", 4, "flw", "fsw", False, "fmadd.s", "fmv.s", "fmv.w.x", "fadd.s"),
}


def acc_reg(r: int, c: int) -> str:
    return ACC[r * 5 + c]


def load(k: Kind, reg: str, addr: str) -> list[str]:
    """Load one element into reg, in the accumulator format."""
    out = [f"{k.load} {reg}, {addr}"]
    if k.widen:
        out.append(f"fcvt.s.h {reg}, {reg}")
    return out


def step(k: Kind, form: str, mr: int, nr: int, u: int) -> list[str]:
    """One k step at unroll slot u (element offset u from the current pointers)."""
    e = k.esize
    out = []
    for r in range(mr):
        out += load(k, AREG[r], f"{e * r}(%[pa])" if form == "tn" else f"{e * u}(%[pa{r}])")
    for c in range(nr):
        b = BREG[c % 2]
        out += load(k, b, f"{e * u}(%[pb{c}])" if form == "nt" else f"{e * c}(%[pb])")
        out += [f"{k.fma} {acc_reg(r, c)}, {AREG[r]}, {b}, {acc_reg(r, c)}" for r in range(mr)]
    # operands whose rows are strided in k move every step
    if form == "tn":
        out.append("add %[pa], %[pa], %[sa]")
    if form in ("nn", "tn"):
        out.append("add %[pb], %[pb], %[sb]")
    return out


def advance(k: Kind, form: str, mr: int, nr: int, n: int) -> list[str]:
    """Advance the k-contiguous pointers by n elements."""
    out = []
    if form in ("nn", "nt"):
        out += [f"addi %[pa{r}], %[pa{r}], {k.esize * n}" for r in range(mr)]
    if form == "nt":
        out += [f"addi %[pb{c}], %[pb{c}], {k.esize * n}" for c in range(nr)]
    return out


def block(k: Kind, form: str, mr: int, nr: int) -> str:
    e = k.esize
    name = f"blk_{k.name}_{form}_{mr}x{nr}"
    body: list[str] = []
    # initial accumulators: the bias (bmode 1: one value per row, 2: one per column) or zero
    body += ["beqz %[bmode], 8f", "addi %[tmp], %[bmode], -1", "bnez %[tmp], 7f"]
    for r in range(mr):
        body += load(k, AREG[r], f"{e * r}(%[pbias])")
        body += [f"{k.fmv} {acc_reg(r, c)}, {AREG[r]}" for c in range(nr)]
    body += ["j 9f", "7:"]
    for c in range(nr):
        body += load(k, AREG[c], f"{e * c}(%[pbias])")
    body += [f"{k.fmv} {acc_reg(r, c)}, {AREG[c]}" for r in range(mr) for c in range(nr)]
    body += ["j 9f", "8:"]
    body += [f"{k.fmvx} {acc_reg(r, c)}, zero" for r in range(mr) for c in range(nr)]
    body += ["9:", "beqz %[nu], 2f", "1:"]
    KU = KU_OF[k.name]
    for u in range(KU):
        body += step(k, form, mr, nr, u)
    body += advance(k, form, mr, nr, KU)
    body += ["addi %[nu], %[nu], -1", "bnez %[nu], 1b", "2:", "beqz %[nr], 4f", "3:"]
    body += step(k, form, mr, nr, 0) + advance(k, form, mr, nr, 1)
    body += ["addi %[nr], %[nr], -1", "bnez %[nr], 3b", "4:"]

    def store(r: int, c: int) -> list[str]:
        a = acc_reg(r, c)
        return ([f"fcvt.h.s {a}, {a}"] if k.widen else []) + [f"{k.store} {a}, {e * c}(%[pc])"]

    # write C, adding its old values first when accumulating (AREG[0] is free by now)
    body += ["beqz %[accf], 5f"]
    for r in range(mr):
        for c in range(nr):
            body += load(k, AREG[0], f"{e * c}(%[pc])")
            body += [f"{k.fadd} {acc_reg(r, c)}, {acc_reg(r, c)}, {AREG[0]}"] + store(r, c)
        if r + 1 < mr:
            body += ["add %[pc], %[pc], %[sc]"]
    body += ["j 6f", "5:"]
    for r in range(mr):
        for c in range(nr):
            body += store(r, c)
        if r + 1 < mr:
            body += ["add %[pc], %[pc], %[sc]"]
    body += ["6:"]

    asm = "\n".join(f'        "{line}\\n"' for line in body)
    outs = ['[nu] "+r"(nu)', '[nr] "+r"(nrem)', '[pc] "+r"(pc)', '[tmp] "=&r"(tmp)']
    decl = []
    if form == "tn":
        outs.append('[pa] "+r"(pa)')
        decl.append("const char *pa = (const char *)A;")
    else:
        for r in range(mr):
            outs.append(f'[pa{r}] "+r"(pa{r})')
            decl.append(f"const char *pa{r} = (const char *)A + {r} * sa;")
    if form == "nt":
        for c in range(nr):
            outs.append(f'[pb{c}] "+r"(pb{c})')
            decl.append(f"const char *pb{c} = (const char *)B + {c} * sb;")
    else:
        outs.append('[pb] "+r"(pb)')
        decl.append("const char *pb = (const char *)B;")
    ins = ['[sa] "r"(sa)', '[sb] "r"(sb)', '[sc] "r"(sc)', '[accf] "r"(accumulate)', '[pbias] "r"(bias)',
           '[bmode] "r"(bmode)']
    clob = ", ".join(f'"{f}"' for f in FREGS) + ', "memory"'
    decls = "\n    ".join(decl)
    T = k.ctype
    return f"""
static inline __attribute__((always_inline)) void {name}(const {T} *A, const {T} *B, {T} *C, int K,
    ptrdiff_t sa, ptrdiff_t sb, ptrdiff_t sc, int accumulate, const {T} *bias, int bmode)
{{
    {decls}
    char *pc = (char *)C;
    int tmp;
    unsigned nu = (unsigned)K / {KU}, nrem = (unsigned)K % {KU};
    __asm__ volatile(
{asm}
        : {", ".join(outs)}
        : {", ".join(ins)}
        : {clob});
}}
"""


HEADER_DOC = """/* GENERATED by runtime_c/tools/gen_matmul_blocks.py: do not edit. Inline-assembly register blocks
 * {what}, included by {user}.
 *
 * blk_<kind>_<form>_<MR>x<NR>(A, B, C, K, sa, sb, sc, accumulate, bias, bmode):
 *   C[0..MR) x [0..NR) = (accumulate ? C : 0) + bias + sum_k A.B over K >= 1.
 *   A, B point at the block's first operands; sa / sb are the byte strides between A rows (nn/nt) or
 *   A^T rows (tn) and between B rows (nn/tn) or B^T rows (nt); sc the byte stride of C rows.
 *   bmode 0: no bias; 1: bias[0..MR), one per row; 2: bias[0..NR), one per column.
 */
"""


def header(kinds: list[str], guard: str, what: str, user: str) -> str:
    parts = [HEADER_DOC.format(what=what, user=user), f"#ifndef {guard}\n#define {guard}\n#include <stddef.h>\n"]
    for kn in kinds:
        for form in FORMS:
            for mr, nr in SIZES:
                parts.append(block(KINDS[kn], form, mr, nr))
    parts.append("\n#endif\n")
    return "".join(parts)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Generate the scalar RISC-V matmul register-block headers.")
    ap.add_argument("--out-dir", type=Path, default=Path(__file__).resolve().parent.parent / "src",
                    help="where to write both headers (default: runtime_c/src, the committed ones)")
    src = ap.parse_args(argv).out_dir
    src.mkdir(parents=True, exist_ok=True)
    (src / "mcuf_matmul_f16_zfh_blocks.h").write_text(header(
        ["h", "hs"], "MCUF_MATMUL_F16_ZFH_BLOCKS_H",
        "of the scalar Zfh FP16 matmul (kind h: FP16 accumulate; hs: FP32 accumulate)", "mcuf_matmul_f16_zfh.c"))
    (src / "mcuf_matmul_f32_rvf_blocks.h").write_text(header(
        ["s"], "MCUF_MATMUL_F32_RVF_BLOCKS_H", "of the scalar F (FP32) matmul", "mcuf_matmul_f32_rvf.c"))


if __name__ == "__main__":
    main()
