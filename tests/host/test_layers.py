"""The host library's layers depend in one direction only: frames (protocol) -> link ->
session -> workflows -> commands -> CLI. A module may import only from layers below its own,
lazy imports inside functions included."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "host_tools"

LAYER = {
    "errors": 0,
    "protocol": 1,
    "reference": 1,
    "ports": 1,
    "transport": 1,
    "timesync": 1,
    "auth": 1,
    "link": 2,
    "account": 2,
    "otpauth": 3,
    "imports": 4,
    "session": 4,
    "provisioning": 5,
    "backup": 5,
    "importing": 6,
    "verification": 5,
    "commands._token": 6,
    "commands._files": 6,
    "commands": 7,  # every other command module
    "cli": 8,
}


def layer(module: str) -> int | None:
    if module.startswith("imports."):  # the package's format modules share its layer
        module = "imports"
    if module in LAYER:
        return LAYER[module]
    if module.startswith("commands.") and module != "commands.sim":
        return LAYER["commands"]
    return None  # deploy, the sim, and other stacks are not part of this one


def imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "host_tools":
                found.update(alias.name for alias in node.names)
            elif node.module.startswith("host_tools."):
                found.add(node.module.removeprefix("host_tools."))
        elif isinstance(node, ast.Import):
            found.update(
                a.name.removeprefix("host_tools.")
                for a in node.names
                if a.name.startswith("host_tools.")
            )
    return found


def test_no_module_imports_from_a_layer_above_its_own() -> None:
    checked = 0
    for path in sorted(PACKAGE.rglob("*.py")):
        module = ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        own = layer(module)
        if own is None:
            continue
        checked += 1
        for name in imports(path):
            other = layer(name)
            if module.startswith("imports") and name.startswith("imports"):
                continue  # within the imports package
            if other is not None:
                assert other < own, f"{module} (layer {own}) imports {name} (layer {other})"
    assert checked >= len(LAYER) + 5  # the stack and the command modules were all seen


def test_the_transport_knows_nothing_of_sessions() -> None:
    assert imports(PACKAGE / "transport.py") <= {"errors"}
    assert "session" not in imports(PACKAGE / "link.py")
