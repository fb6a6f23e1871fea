"""Integration harness: moto server, the Together simulator and the real lambda_handler, all on loopback."""

from __future__ import annotations

import base64
import json
import secrets
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from moto.server import ThreadedMotoServer

from devstack.aws import RelaySecretValues, create_cache_table, create_secret
from devstack.events import FakeLambdaContext, http_event
from devstack.together_sim import TogetherSimulator
from endpoint_relay import container
from endpoint_relay.adapters import aws_clients
from tests.leakcheck import COLLECTOR


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="session")
def together_sim() -> Iterator[TogetherSimulator]:
    with TogetherSimulator() as sim:
        yield sim


@pytest.fixture
def together(together_sim: TogetherSimulator) -> Iterator[TogetherSimulator]:
    together_sim.reset()
    together_sim.api_keys = {"sim-together-key"}
    yield together_sim
    together_sim.reset()


@dataclass
class Relay:
    """The deployed relay as a caller sees it, plus the counters tests assert on."""

    moto_endpoint: str
    secret_id: str
    table_name: str
    together_api_key: str
    token: str
    aws_calls: Counter[str] = field(default_factory=Counter)

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        from endpoint_relay.handler import lambda_handler

        response: dict[str, Any] = lambda_handler(event, FakeLambdaContext())
        body = response.get("body") or ""
        if response.get("isBase64Encoded"):
            body = base64.b64decode(body).decode("utf-8", "replace")
        COLLECTOR.add_text(body)
        COLLECTOR.add_text(json.dumps(response.get("headers") or {}))
        return response

    def get(self, path: str, *, authorized: bool = True, headers: dict[str, str] | None = None) -> dict[str, Any]:
        all_headers = dict(headers or {})
        if authorized:
            all_headers["Authorization"] = f"Bearer {self.token}"
        return self.invoke(http_event("GET", path, headers=all_headers))

    @property
    def secret_fetches(self) -> int:
        return self.aws_calls["secretsmanager.GetSecretValue"]


@pytest.fixture
def relay_env(moto_endpoint: str, together: TogetherSimulator, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Environment for a freshly provisioned relay; tests may adjust it before calling ``relay``."""
    token = "relay-" + secrets.token_urlsafe(16)
    api_key = "tgp-" + secrets.token_urlsafe(24)
    together.api_keys = {api_key}
    secret_id = create_secret(moto_endpoint, RelaySecretValues(together_api_key=api_key, relay_tokens=(token,)))
    table = create_cache_table(moto_endpoint)
    COLLECTOR.register_secret(token, api_key)
    env = {
        "AWS_ENDPOINT_URL": moto_endpoint,
        "RELAY_SECRET_ID": secret_id,
        "TOGETHER_API_BASE_URL": together.base_url,
        "CACHE_TABLE_NAME": table,
        "UPSTREAM_CONNECT_TIMEOUT_SECONDS": "1",
        "UPSTREAM_READ_TIMEOUT_SECONDS": "2",
        "UPSTREAM_MAX_RETRIES": "2",
        "UPSTREAM_MAX_RETRY_AFTER_SECONDS": "1",
        "_TOKEN": token,
        "_API_KEY": api_key,
    }
    return env


@pytest.fixture
def relay(relay_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Relay]:
    for name, value in relay_env.items():
        if not name.startswith("_"):
            monkeypatch.setenv(name, value)
    container.reset()
    harness = Relay(
        moto_endpoint=relay_env["AWS_ENDPOINT_URL"],
        secret_id=relay_env["RELAY_SECRET_ID"],
        table_name=relay_env["CACHE_TABLE_NAME"],
        together_api_key=relay_env["_API_KEY"],
        token=relay_env["_TOKEN"],
    )
    for service in ("secretsmanager", "dynamodb"):
        # Count every API call the relay makes, by service and operation.
        aws_clients.client(service).meta.events.register(
            "before-call",
            lambda model, **_: harness.aws_calls.update([f"{model.service_model.service_name}.{model.name}"]),
        )
    yield harness
    container.reset()
