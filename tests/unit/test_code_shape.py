"""Code stays in pieces a reader can hold: no class in src/ over 200 lines, no function over 50."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[2] / "src"
MODULES = sorted(SOURCE.rglob("*.py"))
LIMITS = {"class": 200, "function": 50}


def _too_long(source: str) -> list[str]:
    """Every class and function (nested ones too) longer than its limit, from its first line to its last."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            kind = "class" if isinstance(node, ast.ClassDef) else "function"
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > LIMITS[kind]:
                found.append(f"line {node.lineno}: {kind} {node.name} has {length} lines (at most {LIMITS[kind]})")
    return found


def test_there_are_modules_to_check() -> None:
    assert len(MODULES) > 20


@pytest.mark.parametrize("path", MODULES, ids=lambda path: str(path.relative_to(SOURCE)))
def test_no_class_over_200_lines_and_no_function_over_50(path: Path) -> None:
    assert _too_long(path.read_text(encoding="utf-8")) == []


def test_the_checker_counts_from_the_first_line_to_the_last() -> None:
    # Guards the checker itself: a 51-line method is caught, a 50-line function and a 200-line class are not.
    def function(name: str, lines: int, indent: str = "") -> str:
        return f"{indent}def {name}():\n" + "".join(f"{indent}    x = {i}\n" for i in range(lines - 1))

    source = function("fifty", 50) + "class Big:\n" + function("method", 51, "    ") + "    y = 0\n" * 148
    assert _too_long(source) == ["line 52: function method has 51 lines (at most 50)"]
    assert _too_long(source + "    y = 1\n") == [
        "line 51: class Big has 201 lines (at most 200)",
        "line 52: function method has 51 lines (at most 50)",
    ]
