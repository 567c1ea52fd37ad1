"""The arena lower() plans for real models: banded conv scratch fits around the tensors' peak."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import mcuforge.codegen.lower as lowering
from mcuforge.allocate.plan import plan_precisions
from mcuforge.codegen.memory import live_lower_bound
from mcuforge.core.precision import UNIFORM
from mcuforge.frontend.pipeline import load_model
from mcuforge.core.targets import get_target

MODELS = Path(__file__).resolve().parent.parent / "models"


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
@pytest.mark.parametrize("model", ["resnet8", "dscnn", "mnist_cnn"])
def test_arena_is_the_busiest_step_with_one_band_of_scratch(monkeypatch, model, precision):
    seen = {}
    real = lowering.plan_arena

    def spy(lifetimes, grow_limit=0):
        seen["lifetimes"], seen["limit"] = list(lifetimes), grow_limit
        seen["plan"] = real(lifetimes, grow_limit=grow_limit)
        return seen["plan"]

    monkeypatch.setattr(lowering, "plan_arena", spy)
    graph = load_model(MODELS / f"{model}.onnx", None)
    prog = lowering.lower(graph, plan_precisions(graph, UNIFORM[precision]), get_target("rv32"))
    lts, plan = seen["lifetimes"], seen["plan"]
    assert plan.overlapping_pairs() == []
    tensors = [lt for lt in lts if not lt.name.startswith("scratch:")]
    assert prog.arena_lower_bound == live_lower_bound(tensors)
    # No plan holds the tensors plus each kernel's least scratch in less than this; the planner
    # reaches it, and wider scratch only fills room below max(this, the slack over the tensors).
    least = live_lower_bound([dataclasses.replace(lt, max_size=0) for lt in lts])
    assert least <= prog.arena_bytes <= max(least, seen["limit"])
    # Issue 4's aim: the arena within 10% of the tensors' lower bound.
    assert prog.arena_bytes <= 1.10 * prog.arena_lower_bound
    # Every banded conv got at least one band and at most its whole im2col matrix, and the program
    # passes the kernel the bytes the plan reserved.
    sizes = {lt.name: lt.size for lt in plan.lifetimes}
    all_steps = (*prog.input_convert, *prog.steps, *prog.output_convert)
    for i, st in enumerate(all_steps):
        if st.scratch_min:
            assert st.scratch_min <= st.scratch_bytes == sizes[f"scratch:{i}"]
            assert prog.buffers[f"scratch:{i}"].nbytes == st.scratch_bytes
