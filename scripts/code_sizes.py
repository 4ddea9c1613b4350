"""Modules over 600 lines and functions over 80 lines (the developer guide's limits).

    uv run python scripts/code_sizes.py [FOLDER ...]      (default: app gis solver)

Prints every module and function over its limit, longest first, and exits 1 when there is one.
A function's length runs from its ``def`` line (decorators not counted) to its last line.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

MODULE_LINES = 600
FUNCTION_LINES = 80


def oversized(folder: Path) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """(modules over MODULE_LINES, functions over FUNCTION_LINES) under ``folder``."""
    modules: list[tuple[int, str]] = []
    functions: list[tuple[int, str]] = []
    for path in sorted(folder.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        lines = len(text.splitlines())
        if lines > MODULE_LINES:
            modules.append((lines, str(path)))
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > FUNCTION_LINES:
                    functions.append((length, f"{path}:{node.lineno} {node.name}"))
    return modules, functions


def main(folders: list[str]) -> int:
    found = False
    out = sys.stdout
    for name in folders or ["app", "gis", "solver"]:
        modules, functions = oversized(Path(name))
        out.write(
            f"{name}/: {len(modules)} modules > {MODULE_LINES} lines, "
            f"{len(functions)} functions > {FUNCTION_LINES} lines\n"
        )
        for size, where in sorted(modules, reverse=True) + sorted(functions, reverse=True):
            out.write(f"  {size:5d}  {where}\n")
        found = found or bool(modules or functions)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
