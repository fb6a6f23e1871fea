"""Suite-wide setup: a safe default environment and the secret-leak check after every test."""

from __future__ import annotations

import logging
import os
from collections.abc import Generator, Iterator
from typing import Any

import pytest

# Defaults for importing the handler (it validates settings at import, as a cold start does).
# Credentials are fake and every AWS call goes to moto on loopback.
for name, value in {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
    "POWERTOOLS_SERVICE_NAME": "endpoint-relay",
    "POWERTOOLS_METRICS_NAMESPACE": "EndpointRelay",
    "POWERTOOLS_LOG_LEVEL": "DEBUG",
    "RELAY_SECRET_ID": "endpoint-relay/unset",
    "TOGETHER_API_BASE_URL": "http://127.0.0.1:9/v1",
}.items():
    os.environ[name] = value
os.environ.pop("AWS_PROFILE", None)

from tests.leakcheck import COLLECTOR, MotoSnsReader  # noqa: E402
from tests.reliability import figures  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def _collect_logs() -> Iterator[None]:
    from endpoint_relay.observability import logger

    COLLECTOR.setFormatter(logger.registered_formatter)
    watched = [logging.getLogger(logger.name), logging.getLogger("endpoint_relay"), logging.getLogger("urllib3")]
    for log in watched:
        log.addHandler(COLLECTOR)
    logging.getLogger("urllib3").setLevel(logging.DEBUG)
    with pytest.MonkeyPatch.context() as patch:
        _sweep_messages_and_output(patch)
        yield
    for log in watched:
        log.removeHandler(COLLECTOR)


def _sweep_messages_and_output(patch: pytest.MonkeyPatch) -> None:
    """The suite-wide sweep: Slack and SNS messages, and stdout a test read itself, are scanned too."""
    from devstack.slack_receiver import SlackReceiver

    record = SlackReceiver._record

    def record_and_collect(receiver: SlackReceiver, message: Any) -> Any:
        COLLECTOR.add_text(message.body.decode("utf-8", "replace"), source="slack")
        return record(receiver, message)

    patch.setattr(SlackReceiver, "_record", record_and_collect)
    COLLECTOR.watch("sns", MotoSnsReader())
    readouterr = pytest.CaptureFixture.readouterr

    def readouterr_and_collect(capture: pytest.CaptureFixture[Any]) -> Any:
        result = readouterr(capture)
        COLLECTOR.add_text(str(result.out), source="stdout")
        COLLECTOR.add_text(str(result.err), source="stderr")
        return result

    patch.setattr(pytest.CaptureFixture, "readouterr", readouterr_and_collect)


@pytest.fixture(autouse=True)
def _no_secret_leaks() -> Iterator[None]:
    COLLECTOR.reset()
    yield
    leaks = COLLECTOR.check()
    assert not leaks, f"secret material reached a log line or response body: {len(leaks)} occurrence(s)"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    # What the test wrote to stdout and stderr (JSON logs, EMF metrics) is scanned by its leak check.
    report: pytest.TestReport = yield
    if report.when in ("setup", "call"):
        COLLECTOR.add_text(report.capstdout, source="stdout")
        COLLECTOR.add_text(report.capstderr, source="stderr")
    return report


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    figures.observe(report.nodeid, report.failed)


def pytest_sessionfinish(session: pytest.Session) -> None:
    figures.write_session(COLLECTOR.figures())
