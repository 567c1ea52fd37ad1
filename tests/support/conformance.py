"""ONNX backend node tests as a conformance suite for the fp32 code generator.

Test cases come from `onnx.backend.test.case.node.collect_testcases` (generated locally, no download):
every single-node case of an op family mcuforge supports. Each in-scope case is compiled at fp32 with
its own prefix; all of them are linked into ONE driver per target, run once (natively or under QEMU),
and each output is compared with the suite's expected output using the suite's own rtol/atol.
Cases out of scope are listed with the reason.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

FAMILIES = {
    "Conv": "conv", "Gemm": "gemm", "MatMul": "matmul", "Add": "add/mul", "Mul": "add/mul", "Relu": "activation",
    "Clip": "activation", "LeakyRelu": "activation", "Sigmoid": "activation", "HardSigmoid": "activation",
    "HardSwish": "activation", "MaxPool": "pool", "AveragePool": "pool", "GlobalAveragePool": "pool",
    "Flatten": "shape", "Reshape": "shape", "Transpose": "shape", "Concat": "shape", "Softmax": "softmax",
    "Pad": "pad", "QuantizeLinear": "qdq", "DequantizeLinear": "qdq",
}
# Inputs an MCU model has as constants (weights, shapes, pads): baked into initializers.
CONST_INPUTS = {"Conv": (1, 2), "Gemm": (1, 2), "Pad": (1, 2, 3), "Reshape": (1,), "Clip": (1, 2),
                "QuantizeLinear": (1, 2), "DequantizeLinear": (1, 2)}
# Out of scope, by pattern on the case name, with the reason.
OUT_OF_SCOPE = [
    (r"pool_(1d|3d)", "1-D and 3-D pooling: mcuforge targets 2-D feature maps"),
    (r"dilations", "dilated pooling/convolution: dilation 1 only"),
    (r"with_argmax", "MaxPool's Indices output"),
    (r"maxpool_2d_uint8", "integer inputs: the fp32 path compiles float models"),
    (r"(wrap|reflect|edge)_pad", "Pad modes other than constant"),
    (r"e4m3|e5m2|float4|_blocked", "float8/float4 and blocked quantization"),
    (r"allowzero", "tensors with a zero-size dimension"),
]


@dataclass(frozen=True)
class Case:
    name: str
    op: str
    family: str
    model: onnx.ModelProto
    inputs: tuple[tuple[str, np.ndarray], ...]
    outputs: tuple[tuple[str, np.ndarray], ...]
    rtol: float
    atol: float
    skip: str | None = None


def _bake_constants(case) -> tuple[onnx.ModelProto, list[tuple[str, np.ndarray]], str | None]:
    model = onnx.ModelProto()
    model.CopyFrom(case.model)
    g = model.graph
    node = g.node[0]
    data_in = list(case.data_sets[0][0])
    names = [i.name for i in g.input]
    const_pos = CONST_INPUTS.get(node.op_type, ())
    keep_inputs, feeds = [], []
    for vi, arr in zip(list(g.input), data_in):
        pos = list(node.input).index(vi.name) if vi.name in node.input else -1
        if isinstance(arr, onnx.TensorProto):  # types numpy cannot hold (float8, int4, ...)
            return model, [], "input types numpy cannot represent (float8/float4/int4/int2 tensors)"
        if pos in const_pos:
            g.initializer.append(numpy_helper.from_array(np.asarray(arr), vi.name))
        else:
            keep_inputs.append(vi)
            feeds.append((vi.name, np.asarray(arr)))
    del g.input[:]
    g.input.extend(keep_inputs)
    if not feeds:
        return model, feeds, "no runtime input left (a fully constant graph)"
    bad = [n for n, a in feeds if a.dtype != np.float32] + [
        o.name for o in g.output if o.type.tensor_type.elem_type != onnx.TensorProto.FLOAT]
    if bad:
        return model, feeds, f"non-float32 graph inputs/outputs ({', '.join(bad)}): the generated API is float"
    del names
    return model, feeds, None


@lru_cache(maxsize=1)
def collect() -> tuple[Case, ...]:
    """Every single-node case of a supported op family, with inputs prepared and skips decided."""
    import warnings

    from onnx.backend.test.case.node import collect_testcases

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raw = collect_testcases(None)
    cases = []
    for c in raw:
        nodes = c.model.graph.node
        if len(nodes) != 1 or nodes[0].op_type not in FAMILIES or not c.data_sets:
            continue
        op = nodes[0].op_type
        skip = next((why for pat, why in OUT_OF_SCOPE if re.search(pat, c.name)), None)
        model, feeds, why = _bake_constants(c)
        skip = skip or why
        outs = tuple((o.name, a if isinstance(a, onnx.TensorProto) else np.asarray(a))
                     for o, a in zip(c.model.graph.output, c.data_sets[0][1]))
        cases.append(Case(c.name, op, FAMILIES[op], model, tuple(feeds), outs, c.rtol, c.atol, skip))
    return tuple(sorted(cases, key=lambda k: k.name))


@dataclass
class BundleResult:
    outputs: dict[str, list[np.ndarray]]  # case name -> outputs
    compile_errors: dict[str, str]  # case name -> message (an in-scope case the compiler refused)


def _driver(entries: list[tuple[str, int, int, list[int], list[int]]]) -> str:
    lines = ['#include <stdint.h>', '#include "mcuf_io.h"']
    for name, *_ in entries:
        lines.append(f'#include "{name}.h"')
    lines.append("static uint8_t arena[1 << 20] __attribute__((aligned(16)));")
    for name, n_in, n_out, in_sizes, out_sizes in entries:
        for j, sz in enumerate(in_sizes):
            lines.append(f"static float {name}_in{j}[{max(sz, 1)}];")
        for k, sz in enumerate(out_sizes):
            lines.append(f"static float {name}_out{k}[{max(sz, 1)}];")
    lines.append("int main(void) {")
    for name, n_in, n_out, in_sizes, out_sizes in entries:
        lines.append("    {")
        lines.append(f"        {name}_ctx_t ctx; int ok = {name}_init(&ctx, arena, sizeof arena) == 0;")
        for j, sz in enumerate(in_sizes):
            lines.append(f'        ok = ok && mcuf_io_read("{name}_in{j}", {name}_in{j}, {sz} * sizeof(float)) == 0;')
        args = ", ".join([f"{name}_in{j}" for j in range(n_in)] + [f"{name}_out{k}" for k in range(n_out)])
        lines.append(f"        int rc = ok ? {name}_run(&ctx, {args}) : -100;")
        lines.append(f"        int32_t d[1] = {{1}}; mcuf_io_write(\"{name}_rc\", &rc, sizeof rc, MCUF_IO_I32, 1, d);")
        for k, sz in enumerate(out_sizes):
            lines.append(f"        {{ int32_t dk[1] = {{{sz}}}; mcuf_io_write(\"{name}_out{k}\", {name}_out{k}, "
                         f"{sz} * sizeof(float), MCUF_IO_F32, 1, dk); }}")
        lines.append("    }")
    lines.append("    return 0;\n}")
    return "\n".join(lines) + "\n"


def run_bundle(cases: list[Case], target_name: str, work: Path) -> BundleResult:
    """Compile every case at fp32, link them into one program for the target, run it once."""
    from mcuforge.codegen.emit import emit_project
    from mcuforge.codegen.kernels import files_for
    from mcuforge.allocate.plan import plan_precisions
    from mcuforge.codegen.lower import lower
    from mcuforge.core.precision import UNIFORM
    from mcuforge.run import harness
    from mcuforge.core.errors import McufError
    from mcuforge.frontend.pipeline import load_model
    from mcuforge.core.targets import get_target

    target = get_target(target_name)
    entries, sources, incs, errors, feeds, functions = [], [], [], {}, {}, set()
    for i, case in enumerate(cases):
        name = f"m{i}"
        try:
            graph = load_model(case.model)
            prog = lower(graph, plan_precisions(graph, UNIFORM["fp32"]), target, name=name)
            files = emit_project(prog, work / name, "conformance", case.name, "onnx backend test")
        except McufError as e:
            errors[case.name] = str(e)
            continue
        functions |= {s.func for s in (*prog.input_convert, *prog.steps, *prog.output_convert) if s.func}
        sources += [files["source"], files["weights"]]
        incs += [work / name / "include", work / name / "src"]
        in_sizes = [b.elements for b in prog.inputs]
        out_sizes = [b.elements for b in prog.outputs]
        entries.append((name, len(in_sizes), len(out_sizes), in_sizes, out_sizes))
        for j, (_, arr) in enumerate(case.inputs):
            feeds[f"{name}_in{j}"] = np.asarray(arr, np.float32).reshape(-1)
    drv = work / "conformance_driver.c"
    drv.write_text(_driver(entries))
    kernel_srcs = files_for(functions)
    exe = harness.build(target, [drv, *sources, *kernel_srcs], incs)
    res = harness.run(target, exe, feeds, timeout=600)
    outputs: dict[str, list[np.ndarray]] = {}
    by_name = {f"m{i}": c for i, c in enumerate(cases)}
    for name, n_in, n_out, _, _ in entries:
        case = by_name[name]
        rc = int(res.outputs[f"{name}_rc"][0])
        if rc != 0:
            errors[case.name] = f"generated code returned {rc}"
            continue
        outputs[case.name] = [res.outputs[f"{name}_out{k}"].reshape(case.outputs[k][1].shape) for k in range(n_out)]
    return BundleResult(outputs, errors)


def summarize(cases: tuple[Case, ...], results: dict[str, str]) -> str:
    """Pass counts per family: results maps case name -> 'pass' | 'fail' | 'skip'."""
    fams: dict[str, list[int]] = {}
    for c in cases:
        f = fams.setdefault(c.family, [0, 0, 0])
        r = results.get(c.name, "skip" if c.skip else "fail")
        f[{"pass": 0, "fail": 1, "skip": 2}[r]] += 1
    lines = [f"{'family':<12} {'pass':>5} {'fail':>5} {'out of scope':>13}"]
    for k in sorted(fams):
        p, f, s = fams[k]
        lines.append(f"{k:<12} {p:>5} {f:>5} {s:>13}")
    return "\n".join(lines)


def check_case(case: Case, bundle: BundleResult, results: dict, target: str) -> None:
    """The body of one conformance test: skip out-of-scope cases, else compare with the suite's tolerance."""
    import pytest

    if case.skip:
        results[(target, case.name)] = "skip"
        pytest.skip(f"out of scope: {case.skip}")
    results[(target, case.name)] = "fail"
    assert case.name not in bundle.compile_errors, bundle.compile_errors.get(case.name)
    for (name, want), out in zip(case.outputs, bundle.outputs[case.name]):
        np.testing.assert_allclose(out, want, rtol=case.rtol, atol=case.atol, err_msg=f"output {name}")
    results[(target, case.name)] = "pass"
