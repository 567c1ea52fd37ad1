"""Kernel choice follows the target: codegen picks the kernel that retires fewer instructions there."""
from __future__ import annotations

from pathlib import Path

import pytest

import mcuforge.codegen.lower as lowering
from mcuforge.frontend.pipeline import load_model
from mcuforge.allocate.plan import plan_precisions
from mcuforge.core.precision import UNIFORM
from mcuforge.core.targets import get_target

MODELS = Path(__file__).resolve().parent.parent / "models"


@pytest.mark.parametrize("target", ["rv32", "rv32-zfh", "rv32-zvfh", "host"])
def test_fp32_3x3_conv_is_direct_only_without_a_vector_unit(target):
    t = get_target(target)
    graph = load_model(MODELS / "mnist_cnn.onnx", None)
    prog = lowering.lower(graph, plan_precisions(graph, UNIFORM["fp32"]), t)
    convs = [st.func for st in prog.steps if st.op == "Conv"]
    assert len(convs) == 2
    if t.vector_bits:
        # im2col + the RVV matmul; the Relu stays its own (vectorised) pass, not moved into the pool
        assert convs == ["mcuf_conv2d_f32"] * 2
        assert not any(st.func == "mcuf_maxpool2d_f32_2x2" and st.params.get("act") != "MCUF_ACT_NONE"
                       for st in prog.steps)
        assert any(st.op == "Relu" or "relu" in st.func for st in prog.steps)
    else:
        assert convs == ["mcuf_conv2d_f32_3x3"] * 2
