"""Each function imports with the garbage collector paused, then freezes what it imported and resumes it."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from endpoint_relay.entrypoints.collector import collector_paused
from tests.unit.fresh_interpreter import fresh_interpreter


@pytest.fixture
def collector_state() -> Iterator[None]:
    """Whatever a test does to the collector, this process gets it back as it was, unfrozen."""
    enabled = gc.isenabled()
    yield
    gc.unfreeze()
    if enabled:
        gc.enable()
    else:
        gc.disable()


@pytest.mark.usefixtures("collector_state")
def test_the_collector_is_paused_inside_and_running_again_after() -> None:
    gc.enable()
    with collector_paused():
        assert not gc.isenabled()
        built: list[list[int]] = [[] for _ in range(1_000)]
    assert gc.isenabled()
    # What the block built was frozen: no later collection walks it.
    assert gc.get_freeze_count() >= len(built)


@pytest.mark.usefixtures("collector_state")
def test_a_collector_that_was_off_stays_off() -> None:
    gc.disable()
    with collector_paused():
        pass
    assert not gc.isenabled()


@pytest.mark.usefixtures("collector_state")
def test_a_failed_import_still_resumes_the_collector() -> None:
    gc.enable()
    with pytest.raises(ImportError), collector_paused():
        import endpoint_relay.no_such_module  # type: ignore[import-not-found]  # noqa: F401
    assert gc.isenabled()


@pytest.mark.parametrize("entry_point", ["api", "sweep", "slack_worker"])
def test_each_function_resumes_the_collector_after_its_cold_start(entry_point: str) -> None:
    # Given a fresh interpreter, as a new container
    probe = (
        "import gc\n"
        f"from endpoint_relay.entrypoints.{entry_point} import lambda_handler\n"
        "print(gc.isenabled(), gc.get_freeze_count() > 10_000)\n"
    )
    answer = fresh_interpreter(probe).split()
    # Then the collector runs again, and the imported modules' objects are out of its way
    assert answer == ["True", "True"]
