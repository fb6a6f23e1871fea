"""The v2 benchmarks run end to end on their own stack and give run.py what its rows need.

A smoke test only: a handful of iterations, no timing asserted (speed is `make bench`'s
business). The SDK 3.x peer runs when ``.venv-sdk3`` exists, as make test builds it.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator

import pytest

from benchmarks import cold_start, v2_uncached
from benchmarks.stack import SDK3_PYTHON, V2_PROJECT_ID, Stack, v2_endpoint_ids
from devstack.together_v2_docs import make_v2_endpoint

LOOKUP_ID, COLD_ID = v2_endpoint_ids("smoke", 2)


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    seed = [make_v2_endpoint(endpoint_id, project_id=V2_PROJECT_ID) for endpoint_id in (LOOKUP_ID, COLD_ID)]
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
def test_sdk3_peer_cold_start_answers_in_a_fresh_process(stack: Stack) -> None:
    result = cold_start.measure(stack, ["unused-a", "unused-b"], 1, variants=("sdk3_peer",), v2_endpoint_id=COLD_ID)

    row = result["sdk3_peer"]
    assert row["spawn_to_first_answer_ms"]["n"] == 1
    assert row["peak_rss_mb"]["max"] > 0
