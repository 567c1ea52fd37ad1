"""mcuforge.codegen.kernels answers from runtime_c/kernels.json alone: the index, backend variants per
target kind, the sources and headers a set of kernels needs (tests/host/test_kernel_manifest.py checks the
manifest against the compiled symbols)."""
from __future__ import annotations

import copy

import pytest

from mcuforge.codegen import emit, kernels
from mcuforge.core.paths import RUNTIME_INCLUDE, RUNTIME_SRC
from mcuforge.core.targets import get_target


def names(paths):
    return [p.name for p in paths]


def test_every_kernel_has_its_source_and_declaring_header():
    m = kernels.manifest()
    assert set(m["targets"]) >= {"host", "rv32-zfh", "rv32-zvfh"}
    for fn, e in m["kernels"].items():
        assert (RUNTIME_SRC / e["source"]).is_file(), fn
        assert e["targets"] and set(e["targets"]) <= set(m["targets"]), fn
        assert e["header"] is not None, f"{fn} is defined in {e['source']} but no public header declares it"
        assert fn in (RUNTIME_INCLUDE / e["header"]).read_text(), fn
    assert kernels.kernel_index()["mcuf_conv2d_f32"] == RUNTIME_SRC / "mcuf_conv.c"


def test_has_kernel_per_target():
    assert kernels.has_kernel("mcuf_matmul_f32_rvv")
    assert kernels.has_kernel("mcuf_matmul_f32_rvv", "rv32-zvfh")
    assert not kernels.has_kernel("mcuf_matmul_f32_rvv", "host")
    assert not kernels.has_kernel("mcuf_matmul_f32_rvf", get_target("host"))
    assert kernels.has_kernel("mcuf_matmul_f32_rvf", get_target("rv32"))
    assert not kernels.has_kernel("mcuf_no_such_kernel")


@pytest.mark.parametrize("target,want", [
    ("host", "mcuf_matmul_f16"), ("rv32", "mcuf_matmul_f16"),
    ("rv32-zfh", "mcuf_matmul_f16_zfh"), ("rv32-zvfh", "mcuf_matmul_f16_rvv"),
])
def test_best_variant_follows_the_target(target, want):
    t = get_target(target)
    assert kernels.best_variant("mcuf_matmul_f16", t.fp16, t.vector_bits) == want


def test_best_variant_offers_only_variants_defined_for_that_kind(monkeypatch):
    """A variant the manifest has only on other targets is never chosen."""
    m = copy.deepcopy(kernels.manifest())
    m["kernels"]["mcuf_relu_f32_rvv"]["targets"] = ["host"]  # as if it compiled only there
    m["kernels"]["mcuf_dwconv2d_f16_zfh"]["targets"] = ["rv32-zvfh"]  # not on the scalar Zfh build
    monkeypatch.setattr(kernels, "manifest", lambda: m)
    assert kernels.best_variant("mcuf_relu_f32", "vector", 128) == "mcuf_relu_f32"
    assert kernels.best_variant("mcuf_dwconv2d_f16", "native", 0) == "mcuf_dwconv2d_f16"
    assert kernels.best_variant("mcuf_dwconv2d_f16", "vector", 128) == "mcuf_dwconv2d_f16_rvv"
    assert kernels.best_variant("mcuf_dwconv2d_f16", "soft", 0) == "mcuf_dwconv2d_f16"


def test_files_and_headers_follow_what_each_target_calls():
    fns = {"mcuf_conv2d_f32"}
    assert names(kernels.files_for(fns, "host")) == ["mcuf_conv.c", "mcuf_matmul_f16.c", "mcuf_matmul_f32.c"]
    assert names(kernels.private_headers_for(fns, "host")) == ["mcuf_bias_grad.h", "mcuf_copy_run.h"]
    assert names(kernels.files_for(fns, "rv32-zvfh")) == ["mcuf_conv.c", "mcuf_matmul_f16_rvv.c",
                                                         "mcuf_matmul_f32_rvv.c"]
    zfh = names(kernels.private_headers_for(fns, "rv32-zfh"))
    assert "mcuf_matmul_f16_zfh_blocks.h" in zfh and "mcuf_matmul_f32_rvf_blocks.h" in zfh
    # no target: whatever any target's build calls (a superset of each)
    every = set(names(kernels.files_for(fns)))
    for t in kernels.manifest()["targets"]:
        assert set(names(kernels.files_for(fns, t))) <= every
    assert names(kernels.headers_for(fns)) == ["mcuf_common.h", "mcuf_conv.h", "mcuf_matmul.h"]


def test_int8_kernels_need_no_float_sources():
    # int8 kernels live in their family's header (mcuf_conv.h, ...) but in their own _s8 sources:
    # no float kernel file, no matmul, only the int8 helpers.
    fns = {"mcuf_conv2d_s8", "mcuf_linear_s8", "mcuf_maxpool2d_s8"}
    assert names(kernels.files_for(fns)) == ["mcuf_conv_s8.c", "mcuf_linear_s8.c", "mcuf_pool_s8.c"]
    assert names(kernels.headers_for(fns)) == ["mcuf_common.h", "mcuf_conv.h", "mcuf_linear.h", "mcuf_pool.h",
                                               "mcuf_requant.h"]
    assert names(kernels.private_headers_for(fns)) == ["mcuf_s8_common.h"]


def test_headers_defining_what_parameters_spell():
    assert names(kernels.headers_defining({"MCUF_ACT_RELU", "mcuf_conv2d_params", "NAN"})) == [
        "mcuf_act.h", "mcuf_conv.h"]
    assert names(kernels.include_closure(["mcuf_pool.h"])) == ["mcuf_common.h", "mcuf_pool.h"]


@pytest.mark.parametrize("target,want", [
    ("host", []), ("rv32", ["mcuf_f16_soft.c"]), ("rv32-zfh", []), ("rv32-zvfh", ["mcuf_rv_start.c"]),
])
def test_platform_files_per_target(target, want):
    assert names(emit.platform_files(get_target(target))) == want
    assert names(emit.platform_files(None)) == ["mcuf_f16_soft.c", "mcuf_rv_start.c"]
