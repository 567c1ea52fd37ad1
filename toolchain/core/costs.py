"""What each layer costs on a target, per candidate precision: the table the OHQ allocator reads. Plain data.

`mcuforge.profile` fills it by measuring (QEMU's retired instructions, or a board's cycle counter
read back from its console log); `mcuforge.allocate` only reads it. It round-trips through JSON
(`compile --costs COSTS.json`, `mcuforge profile --out COSTS.json`).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from mcuforge.core.errors import McufError
from mcuforge.core.precision import Precision

COSTS_VERSION = 1


@dataclass(frozen=True)
class LayerCost:
    """One layer (node of the normalised graph) in one candidate precision.

    cost: measured cost of the layer's kernel calls in the target's unit; flash: bytes of the layer's
    constants (packed weights, biases, requantization data); ram: arena bytes live while the layer
    runs (its inputs, outputs and scratch) with that precision."""

    layer: str
    precision: Precision
    cost: int
    flash: int
    ram: int


@dataclass(frozen=True)
class ConversionCost:
    """Converting one activation tensor from type `src` to `dst` (fp32 | fp16 | int8) costs
    `fixed + per_value * n_values` in the target's unit."""

    src: str
    dst: str
    per_value: float
    fixed: float = 0.0

    def of(self, n_values: int) -> float:
        return self.fixed + self.per_value * n_values


@dataclass(frozen=True)
class CostTable:
    """target: target name; unit: "instructions" (QEMU) or "cycles" (a board); source: how it was
    measured ("qemu", "log:<file>"); layers: one entry per (layer, candidate precision) measured;
    conversions: one entry per (src, dst) activation-type pair measured."""

    target: str
    unit: str
    source: str
    layers: tuple[LayerCost, ...]
    conversions: tuple[ConversionCost, ...] = ()

    def get(self, layer: str, precision: Precision) -> LayerCost | None:
        for c in self.layers:
            if c.layer == layer and c.precision == precision:
                return c
        return None

    def candidates(self, layer: str) -> tuple[Precision, ...]:
        """The precisions measured for `layer`, in table order."""
        return tuple(c.precision for c in self.layers if c.layer == layer)

    def conversion(self, src: str, dst: str) -> ConversionCost | None:
        return next((c for c in self.conversions if c.src == src and c.dst == dst), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": COSTS_VERSION, "target": self.target, "unit": self.unit, "source": self.source,
            "layers": [{"name": c.layer, "weights": c.precision.weights, "activations": c.precision.activations,
                        "cost": c.cost, "flash": c.flash, "ram": c.ram} for c in self.layers],
            "conversions": [{"from": c.src, "to": c.dst, "per_value": c.per_value, "fixed": c.fixed}
                            for c in self.conversions],
        }

    @staticmethod
    def from_json(doc: Mapping[str, Any], where: str = "cost table") -> "CostTable":
        """Read the JSON form; a wrong version or a missing field is a McufError naming `where`."""
        try:
            if doc.get("version") != COSTS_VERSION:
                raise McufError(f"{where}: cost table version {doc.get('version')!r}, this mcuforge reads "
                                f"version {COSTS_VERSION}; measure it again with `mcuforge profile`")
            layers = tuple(LayerCost(str(r["name"]), Precision(str(r["weights"]), str(r["activations"])),
                                     int(r["cost"]), int(r["flash"]), int(r["ram"])) for r in doc["layers"])
            conv = tuple(ConversionCost(str(r["from"]), str(r["to"]), float(r["per_value"]), float(r.get("fixed", 0.0)))
                         for r in doc.get("conversions", ()))
            return CostTable(str(doc["target"]), str(doc["unit"]), str(doc["source"]), layers, conv)
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise McufError(f"{where}: not a mcuforge cost table ({type(e).__name__}: {e}); "
                            "write one with `mcuforge profile MODEL --target T --out COSTS.json`") from None


def write_costs(path: Path, table: CostTable) -> None:
    Path(path).write_text(json.dumps(table.to_json(), indent=1) + "\n")


def read_costs(path: Path) -> CostTable:
    """Load COSTS.json; unreadable or malformed files are a McufError naming the file."""
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise McufError(f"cost table '{path}' cannot be read: {e}") from None
    if not isinstance(doc, dict):
        raise McufError(f"cost table '{path}': expected a JSON object")
    return CostTable.from_json(doc, f"cost table '{path}'")


def merge(tables: Iterable[CostTable]) -> CostTable:
    """One table from several measured on the same target (e.g. one per candidate configuration)."""
    tables = list(tables)
    if not tables:
        raise ValueError("no cost tables to merge")
    t0 = tables[0]
    if any(t.target != t0.target or t.unit != t0.unit for t in tables):
        raise McufError("cost tables measured on different targets or units cannot be merged")
    layers = tuple(c for t in tables for c in t.layers)
    seen: dict[tuple[str, str], ConversionCost] = {}
    for t in tables:
        for c in t.conversions:
            seen.setdefault((c.src, c.dst), c)
    return CostTable(t0.target, t0.unit, t0.source, layers, tuple(seen.values()))
