"""Instructions per MAC of the int8 kernels under QEMU (exact retired-instruction counts).

    .venv/bin/python benchmarks/bench_s8.py [--target rv32]

Runs runtime_c/tests/s8_driver.c (the same driver tests/target/test_s8_qemu.py checks bit-exactly)
on the layers below and prints one line per layer. Not a test: it asserts nothing about speed.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support.s8_reference import (S8_DRIVER, SOURCES, ConvCase, FcCase, QuantConv, driver_inputs, make_conv,  # noqa: E402
                               make_fc)
from mcuforge.run import harness  # noqa: F401
from mcuforge.core.targets import get_target  # noqa: E402

LAYERS = [
    ("conv 3x3 16->16 @16x16 pad 1", ConvCase(16, 16, 16, 16, (3, 3), pads=(1, 1, 1, 1))),
    ("conv 1x1 32->32 @16x16", ConvCase(32, 16, 16, 32, (1, 1))),
    ("conv 3x3 8->16 @32x32 s2", ConvCase(8, 32, 32, 16, (3, 3), stride=(2, 2), pads=(1, 1, 1, 1))),
    ("dwconv 3x3 32 @16x16 pad 1", ConvCase(32, 16, 16, 32, (3, 3), pads=(1, 1, 1, 1), group=32)),
    ("fc 256->64", FcCase(1, 256, 64)),
    ("fc 64->10", FcCase(1, 64, 10)),
]
PACKED_FC = [("fc 256->64 packed", FcCase(1, 256, 64)), ("fc 64->10 packed", FcCase(1, 64, 10)),
             ("conv 3x3 16->16 @16x16 w4", ConvCase(16, 16, 16, 16, (3, 3), pads=(1, 1, 1, 1), wbits=4)),
             ("conv 3x3 16->16 @16x16 w2", ConvCase(16, 16, 16, 16, (3, 3), pads=(1, 1, 1, 1), wbits=2)),
             ("conv 1x1 32->32 @16x16 w4", ConvCase(32, 16, 16, 32, (1, 1), wbits=4)),
             ("dwconv 3x3 32 @16x16 pad 1 w4", ConvCase(32, 16, 16, 32, (3, 3), pads=(1, 1, 1, 1), group=32, wbits=4)),
             ("dwconv 3x3 32 @16x16 pad 1 w2", ConvCase(32, 16, 16, 32, (3, 3), pads=(1, 1, 1, 1), group=32, wbits=2)),
             ("fc 256->64 w4", FcCase(1, 256, 64, wbits=4)), ("fc 256->64 w2", FcCase(1, 256, 64, wbits=2))]


def macs(q) -> int:
    if isinstance(q, QuantConv):
        c = q.case
        oh, ow = c.out_hw
        return c.OC * oh * ow * (c.C // c.group) * c.k[0] * c.k[1]
    return q.case.rows * q.case.In * q.case.Out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target", default="rv32")
    args = ap.parse_args()
    target = get_target(args.target)
    exe = harness.build(target, [S8_DRIVER, *SOURCES])
    print(f"{'layer':<32} {'MACs':>9} {'instret':>10} {'instr/MAC':>9}   target {target.name}")
    for layers, packed in ((LAYERS, False), (PACKED_FC, True)):
        items = [make_conv(c) if isinstance(c, ConvCase) else make_fc(c) for _, c in layers]
        inputs, _ = driver_inputs(items, fc_packed=packed)
        res = harness.run(target, exe, inputs)
        for i, ((name, _), q) in enumerate(zip(layers, items)):
            n = res.counts[f"case{i}"]
            print(f"{name:<32} {macs(q):>9} {n:>10} {n / macs(q):>9.3f}")


if __name__ == "__main__":
    main()
