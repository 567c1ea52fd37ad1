"""allocation.json, report.md and the plots beside them."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping, Sequence

from mcuforge.core.precision import BITS, supported_text
from mcuforge.core.targets import Target


def _layer_rows(prog: Any, layer_costs: Sequence[int], errors: Mapping[str, float] | None = None) -> list[dict]:
    """One row per layer call: name, op, precision (weights, activations, bits), measured cost, flash
    of its constants. Layers without weights have weights null; conversions between layers of
    different precision are rows of their own (op "Convert")."""
    flash_of: dict[str, int] = {}
    for c in prog.consts:
        node = c.comment.split('"')[1] if '"' in c.comment else ""
        flash_of[node] = flash_of.get(node, 0) + c.nbytes
    prec = {name: (w, a) for name, w, a in prog.layer_precisions}
    conv = {name: (src, dst) for name, src, dst in prog.conversions}
    rows = []
    for i, node in enumerate(prog.layer_nodes):
        steps = [st for st in prog.steps if st.node == node]
        w, a = prec.get(node, (None, None))
        if node in conv:
            rows.append({"name": node, "op": "Convert", "from": conv[node][0], "to": conv[node][1],
                         "cost": int(layer_costs[i]) if i < len(layer_costs) else None})
            continue
        rows.append({"name": node, "op": steps[0].op,  # w is None for a layer without weights
                     "bits": BITS[w] if w else (BITS[a] if a and any(st.func for st in steps) else None),
                     "weights": w, "activations": a,
                     "cost": int(layer_costs[i]) if i < len(layer_costs) else None,
                     "flash": flash_of.get(node, 0), "macs": sum(st.macs for st in steps), "sensitivity": None,
                     "weight_error": (errors or {}).get(node)})
    return rows


def write_allocation(path: Path, prog: Any, target: Target, precision: str, cfg: Any,
                     layer_costs: Sequence[int], errors: Mapping[str, float] | None = None) -> dict:
    """The allocation file of DESIGN.md: what was chosen and what it costs (uniform precisions too).
    Conversions between layers of different precision are listed apart ("conversions": name, cost),
    so the file can be given back to `compile --allocation` as it is."""
    rows = _layer_rows(prog, layer_costs, errors)
    total_cost = sum(r["cost"] for r in rows if r["cost"] is not None) if layer_costs else None
    doc = {
        "target": target.name,
        "precision": precision,
        "cost_unit": target.cost_unit,
        "budgets": {"latency": cfg.latency_budget, "flash": cfg.flash_budget, "ram": cfg.ram_budget,
                    "avg_bits": cfg.avg_bits},
        "layers": [r for r in rows if r["op"] != "Convert"],
        "conversions": [{k: r[k] for k in ("name", "from", "to", "cost")} for r in rows if r["op"] == "Convert"],
        "totals": {"cost": total_cost, "flash": prog.flash_bytes, "ram": prog.arena_bytes,
                   "ram_lower_bound": prog.arena_lower_bound, "macs": prog.macs},
    }
    Path(path).write_text(json.dumps(doc, indent=1) + "\n")
    return doc


_COLORS = {"fp32": "#3a6ea5", "fp16": "#5aa469", "int8": "#d08a2e", "conversion": "#999999"}


def _plot_costs(path: Path, rows: list[dict], unit: str) -> bool:
    measured = [r for r in rows if r["cost"]]
    if not measured:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def label(r: dict) -> str:
        if r["op"] == "Convert":
            return "conversion"
        return r["activations"] if not r["weights"] or r["weights"] == r["activations"] else \
            f"{r['weights']} weights, {r['activations']}"

    kinds = list(dict.fromkeys(label(r) for r in measured))
    fig, ax = plt.subplots(figsize=(max(6, 0.5 * len(measured) + 2), 4))
    for k, kind in enumerate(kinds):
        idx = [i for i, r in enumerate(measured) if label(r) == kind]
        ax.bar(idx, [measured[i]["cost"] for i in idx], color=_COLORS.get(kind, f"C{k}"), label=kind)
    ax.set_xticks(range(len(measured)), [f"{r['name']}\n{r['op']}" for r in measured], rotation=60, ha="right",
                  fontsize=7)
    ax.set_ylabel(f"{unit} per inference")
    ax.set_title("measured cost per layer, by precision")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def write_report(out_dir: Path, prog: Any, target: Target, precision: str, cfg: Any,
                 layer_costs: Sequence[int], notes: Sequence[str], errors: Mapping[str, float] | None = None) -> None:
    """report.md (+ layer_costs.png): what was built, its sizes and measured costs."""
    rows = _layer_rows(prog, layer_costs, errors)
    unit = target.cost_unit or "cost"
    has_plot = _plot_costs(out_dir / "layer_costs.png", rows, unit)
    lines = [f"# mcuforge report: {cfg.name}", "",
             f"- model: `{cfg.model}`", f"- target: `{target.name}` ({target.description})",
             f"- precision: {precision}", f"- arena: {prog.arena_bytes} bytes (lower bound {prog.arena_lower_bound})",
             f"- constants (flash): {prog.flash_bytes} bytes", f"- MACs per inference: {prog.macs:,}"]
    if layer_costs:
        total = sum(layer_costs)
        lines.append(f"- measured {unit} per inference (layers): {total:,}"
                     + (f" ({prog.macs / total:.3f} MAC per instruction)" if total else ""))
    for n in notes:
        lines.append(f"- note: {n}")
    lines += ["", "| layer | op | weights | activations | MACs | flash | " + unit + " | weight error |",
              "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        cost = r["cost"] if r["cost"] is not None else "-"
        if r["op"] == "Convert":
            lines.append(f"| {r['name']} | Convert | | {r['from']} -> {r['to']} | | | {cost} | |")
        else:
            err = f"{r['weight_error']:.2e}" if r["weight_error"] is not None else "-"
            lines.append(f"| {r['name']} | {r['op']} | {r['weights'] or '-'} | {r['activations'] or '-'} | "
                         f"{r['macs']:,} | {r['flash']} | {cost} | {err} |")
    if errors:
        lines += ["", "Weight error: ||W X - Q(W) X||^2 / ||W X||^2 of the layer's integer weights on the calibration "
                  "inputs (the layer's own output error, before activation quantization): where the weight "
                  "rounding loses most."]
    lines += ["", f"Per-layer precisions can be fixed with `--allocation FILE` (this folder's allocation.json, "
              f"edited); supported weights/activations: {supported_text()}."]
    if has_plot:
        lines += ["", "![measured cost per layer](layer_costs.png)"]
    (Path(out_dir) / "report.md").write_text("\n".join(lines) + "\n")
