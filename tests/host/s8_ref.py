"""Compatibility name for benchmarks/bench_s8.py, which imports `tests.host.s8_ref` (a file outside the
tests' ownership). The helpers live in tests/support/s8_reference.py; delete this file once the benchmark
imports from there."""
from tests.support.s8_reference import *  # noqa: F401,F403
from tests.support.s8_reference import S8_DRIVER, ConvCase, FcCase, QuantConv, driver_inputs, make_conv, make_fc  # noqa: F401
