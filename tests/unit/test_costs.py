"""The cost table the allocator reads: JSON round trip, lookups, malformed files refused."""
from __future__ import annotations

import json

import pytest

from mcuforge.core.costs import ConversionCost, CostTable, LayerCost, merge, read_costs, write_costs
from mcuforge.core.errors import McufError
from mcuforge.core.precision import Precision

W8, W4 = Precision("int8", "int8"), Precision("int4", "int8")


def _table() -> CostTable:
    return CostTable("rv32-zfh", "instructions", "qemu",
                     (LayerCost("conv1", W8, 1000, 300, 4096), LayerCost("conv1", W4, 1100, 160, 4096)),
                     (ConversionCost("fp32", "int8", 27.0, 40.0),))


def test_round_trip(tmp_path):
    write_costs(tmp_path / "c.json", _table())
    assert read_costs(tmp_path / "c.json") == _table()


def test_lookups():
    t = _table()
    assert t.get("conv1", W4).flash == 160
    assert t.get("conv1", Precision("int2", "int8")) is None
    assert t.candidates("conv1") == (W8, W4)
    assert t.conversion("fp32", "int8").of(10) == 310.0


def test_merge_refuses_other_target():
    other = CostTable("rv32", "instructions", "qemu", ())
    with pytest.raises(McufError, match="different targets"):
        merge([_table(), other])
    assert len(merge([_table(), _table()]).layers) == 4


@pytest.mark.parametrize("doc", [{"version": 99}, {"version": 1, "target": "x"}, [1, 2]])
def test_malformed_refused(tmp_path, doc):
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(doc))
    with pytest.raises(McufError, match="bad.json"):
        read_costs(p)
