"""The figures behind docs/reliability.md, written to reports/ by the runs that make them.

Each producer writes one JSON file, ``reports/<section>.json`` (``reports/soak/`` under
`make soak`): the test session writes the fault matrix, hostile-input, leak-sweep and
load figures; `make security` writes the scanners'. `make reliability-report` prints them.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
REPORTS = ROOT / "reports"
SOAK = os.environ.get("RELIABILITY_SOAK") == "1"
"""`make soak`: more hypothesis examples and a longer load run."""
MODE = "soak" if SOAK else "test"
RECORDING = os.environ.get("RELIABILITY_FIGURES") == "1"
"""Set by `make test` and `make soak`: only whole runs write figures, never an ad-hoc subset."""


def folder(mode: str = MODE) -> Path:
    return REPORTS / "soak" if mode == "soak" else REPORTS


def write(section: str, figures: dict[str, Any], *, always: bool = False) -> Path | None:
    if not (RECORDING or always):
        return None
    path = folder() / f"{section}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    stamped = {"generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "mode": MODE, **figures}
    path.write_text(json.dumps(stamped, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def read(section: str, mode: str = "test") -> dict[str, Any] | None:
    path = folder(mode) / f"{section}.json"
    if not path.is_file():
        return None
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


class Outcomes:
    """Pass or fail per test, over all its phases: a row whose leak check fails in teardown did not pass."""

    def __init__(self, marker: str) -> None:
        self._marker = marker
        self._failed: dict[str, bool] = {}

    def observe(self, nodeid: str, failed: bool) -> None:
        if self._marker in nodeid:
            self._failed[nodeid] = self._failed.get(nodeid, False) or failed

    def figures(self, only: set[str] | None = None) -> dict[str, Any]:
        outcomes = {nodeid: failed for nodeid, failed in self._failed.items() if only is None or nodeid in only}
        failed = sum(outcomes.values())
        passed_by_group: Counter[str] = Counter()
        for nodeid, did_fail in outcomes.items():
            # "...test_fault_matrix[together:-500]" -> "together"
            group = nodeid.partition("[")[2].partition(":")[0] or nodeid.rpartition("::")[2]
            passed_by_group[group] += 0 if did_fail else 1
        return {
            "rows": len(outcomes),
            "passed": len(outcomes) - failed,
            "failed": failed,
            "passed_by_group": dict(sorted(passed_by_group.items())),
        }


FAULT_ROWS = Outcomes("test_fault_matrix.py::test_fault_matrix[")
HOSTILE_PROPERTIES = Outcomes("test_hostile_input.py::")
HOSTILE_CASES: Counter[str] = Counter()
"""Hypothesis examples run, by property (counted in the test bodies, so shrinking runs count too)."""
_PROPERTY_TESTS: set[str] = set()


def tried(prop: str) -> None:
    HOSTILE_CASES[prop] += 1
    # pytest names the running test here ("<nodeid> (call)"); only tests that count cases are properties.
    _PROPERTY_TESTS.add(os.environ.get("PYTEST_CURRENT_TEST", "").rpartition(" ")[0])


def observe(nodeid: str, failed: bool) -> None:
    FAULT_ROWS.observe(nodeid, failed)
    HOSTILE_PROPERTIES.observe(nodeid, failed)


def write_session(leak_sweep: dict[str, Any]) -> None:
    """At the end of a test session: the figures of whatever part of the suite ran."""
    rows = FAULT_ROWS.figures()
    if rows["rows"]:
        write("fault_matrix", rows)
    if HOSTILE_CASES:
        write(
            "hostile_input",
            {
                "cases_by_property": dict(sorted(HOSTILE_CASES.items())),
                "cases": sum(HOSTILE_CASES.values()),
                "properties": HOSTILE_PROPERTIES.figures(only=_PROPERTY_TESTS),
            },
        )
    if leak_sweep.get("tests_checked"):
        write("leak_sweep", leak_sweep)
