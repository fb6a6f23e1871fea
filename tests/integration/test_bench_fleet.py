"""The fleet benchmark runs end to end on its own stack, small, and gives run.py its row.

A smoke test only: a few endpoints, no timing asserted (speed is `make bench`'s business).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator

import pytest

from benchmarks import fleet
from benchmarks.stack import Stack


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with Stack().start([]) as started:
        yield started


def test_the_fleet_view_of_n_endpoints_costs_its_list_pages_and_one_catalogue_call(stack: Stack) -> None:
    result = fleet.measure(stack, 7)

    assert (result["lines"], result["list_calls"], result["catalogue_calls"]) == (7, 1, 1)
    assert result["other_calls"] == {} and result["v1_calls"] == 1
    assert (result["first"]["x_cache"], result["second"]["x_cache"]) == ("MISS", "HIT")
    assert result["second"]["upstream_calls"] == 0
    run = importlib.import_module("benchmarks.run")
    (row,) = run.evaluate({"fleet": result})
    assert (row.benchmark, row.met) == ("fleet view", True)
