"""The v2 benchmarks run end to end on their own stack and give run.py what its rows need.

A smoke test only: a handful of iterations, no timing asserted (speed is `make bench`'s
business). The SDK 3.x peer runs when ``.venv-sdk3`` exists, as make test builds it.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import pytest

from benchmarks import cold_start, v2_uncached
from benchmarks.stack import SDK3_PYTHON, V2_PROJECT_ID, Stack, v2_endpoint_ids
from devstack.together_v2_docs import make_v2_endpoint

LOOKUP_ID, *COLD_IDS = v2_endpoint_ids("smoke", 5)


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    seed = [make_v2_endpoint(endpoint_id, project_id=V2_PROJECT_ID) for endpoint_id in (LOOKUP_ID, *COLD_IDS)]
    with Stack().start(seed) as started:
        yield started


def test_v2_uncached_measures_the_relay_urllib3_and_the_sdk3_peer(stack: Stack) -> None:
    result = v2_uncached.measure(stack, LOOKUP_ID, iterations=20)

    assert result["relay"]["n"] == 20
    assert result["raw_urllib3"]["n"] == 20
    if SDK3_PYTHON.exists():
        assert result["together_sdk3"]["n"] == 20
    # Imported by name: benchmarks.run pulls in the SDK 2.x benchmarks, which mypy does not check.
    run = importlib.import_module("benchmarks.run")
    rows = {(t.benchmark, t.name) for t in run.evaluate({"v2_uncached": result})}
    assert rows == {("v2 uncached", "vs raw urllib3"), ("v2 uncached", "vs SDK 3.x retrieve")}


@pytest.mark.skipif(not SDK3_PYTHON.exists(), reason=".venv-sdk3 not built")
def test_v2_cold_starts_answer_in_fresh_processes(stack: Stack) -> None:
    """The relay's v2 lookup (a shared-table miss each run) and the SDK 3.x peer, one discarded run and one timed."""
    result = cold_start.measure(stack, [], 1, variants=("relay_v2", "sdk3_peer"), v2_ids=COLD_IDS)

    for variant in ("relay_v2", "sdk3_peer"):
        assert result[variant]["spawn_to_first_answer_ms"]["n"] == 1
        assert result[variant]["peak_rss_mb"]["max"] > 0
    run = importlib.import_module("benchmarks.run")
    rows = [t for t in run.evaluate({"cold_start": _with_v1_rows(result)}) if "SDK 3.x" in t.name]
    assert [t.name for t in rows] == ["v2 lookup vs SDK 3.x peer"]


def _with_v1_rows(result: dict[str, Any]) -> dict[str, Any]:
    """run.evaluate reads the v1 variants too; borrow the v2 relay's row for them."""
    borrowed = result["relay_v2"]
    return {"relay": borrowed, "floor": borrowed, "peer": borrowed, "dependencies": borrowed, **result}
