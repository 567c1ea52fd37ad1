"""Imports flow one way: toolchain stages -> plain data -> codegen -> templates. Fails on a back edge.

Parses every module of the `mcuforge` package (toolchain/ and codegen/ in the repository) and checks
each `mcuforge.*` import against the layer table below: a sub-package may import itself and the
layers it lists, nothing else. So `core` stays plain data, codegen sees only core types, and only
the compile driver calls codegen.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ROOTS = {REPO / "toolchain": "mcuforge", REPO / "codegen": "mcuforge.codegen"}

# sub-package (second component of the module name) -> the sub-packages it may import
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "frontend": {"core"},
    "quantize": {"core", "frontend"},
    "allocate": {"core", "frontend"},
    "export": {"core", "frontend", "quantize"},
    "codegen": {"core"},
    "run": {"core"},
    "report": {"core"},
    "bench": {"core", "run"},
    "compile": {"core", "frontend", "quantize", "allocate", "export", "codegen", "run", "report"},
    "demo": {"core", "frontend", "run", "compile"},
    "cli": {"core", "frontend", "run", "compile", "demo", "bench"},
    "": {"core"},  # mcuforge/__init__.py
}


def _modules() -> dict[str, Path]:
    mods = {}
    for root, pkg in ROOTS.items():
        for path in root.rglob("*.py"):
            if root == REPO / "toolchain" and (REPO / "codegen") in path.parents:
                continue
            rel = path.relative_to(root).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            mods[".".join([pkg, *parts])] = path
    return mods


def _imports(path: Path, module: str) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), str(path))
    is_pkg = path.name == "__init__.py"
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base if is_pkg else base[:-1]
                base = base[:len(base) - (node.level - 1)]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            found.append((node.lineno, name))
    return found


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


MODULES = _modules()


def test_the_package_is_where_the_table_expects():
    assert "mcuforge.core.ir" in MODULES and "mcuforge.codegen.lower" in MODULES and "mcuforge.cli" in MODULES
    assert {_layer(m) for m in MODULES} <= set(ALLOWED), "a new sub-package needs a row in ALLOWED"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_follow_the_layers(module):
    path = MODULES[module]
    src_layer = _layer(module)
    bad = []
    for line, name in _imports(path, module):
        top = name.split(".")[0]
        if top in ("toolchain", "codegen"):
            bad.append(f"{path.name}:{line}: imports '{name}': the installed package is mcuforge.*")
        elif top == "mcuforge":
            dst = _layer(name)
            if dst != src_layer and dst not in ALLOWED[src_layer]:
                bad.append(f"{path.name}:{line}: {src_layer or 'mcuforge'} imports {name} "
                           f"(allowed: {sorted(ALLOWED[src_layer])})")
    assert not bad, "\n".join(bad)


def test_tests_and_scripts_use_the_installed_names():
    bad = []
    for folder in ("tests", "benchmarks", "scripts", "examples", "runtime_c"):
        for path in (REPO / folder).rglob("*.py"):
            for line, name in _imports(path, "tests.x"):
                if name.split(".")[0] in ("toolchain", "codegen"):
                    bad.append(f"{path.relative_to(REPO)}:{line}: {name}")
    assert not bad, "\n".join(bad)
