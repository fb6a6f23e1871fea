"""Suite-wide setup: a safe default environment and the secret-leak check after every test."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

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

from tests.leakcheck import COLLECTOR  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def _collect_logs() -> Iterator[None]:
    from endpoint_relay.observability import logger

    COLLECTOR.setFormatter(logger.registered_formatter)
    watched = [logging.getLogger(logger.name), logging.getLogger("endpoint_relay"), logging.getLogger("urllib3")]
    for log in watched:
        log.addHandler(COLLECTOR)
    logging.getLogger("urllib3").setLevel(logging.DEBUG)
    yield
    for log in watched:
        log.removeHandler(COLLECTOR)


@pytest.fixture(autouse=True)
def _no_secret_leaks() -> Iterator[None]:
    COLLECTOR.reset()
    yield
    leaks = COLLECTOR.leaks()
    assert not leaks, f"secret material reached a log line or response body: {len(leaks)} occurrence(s)"
