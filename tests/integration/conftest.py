"""Integration harness: moto server, the Together simulator and the real lambda_handler, all on loopback."""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from moto.server import ThreadedMotoServer

from devstack.aws import RelaySecretValues, create_cache_table, create_secret, put_secret
from devstack.events import http_event
from devstack.local_lambda import API, SWEEP, WORKER, LocalLambda, function_for, reset_entrypoints
from devstack.slack_receiver import SlackReceiver
from devstack.together_sim import TogetherSimulator
from devstack.together_v2_docs import make_v2_deployment, make_v2_endpoint
from endpoint_relay.adapters import aws_clients
from endpoint_relay.adapters.lambda_invoker import AsyncInvoker
from endpoint_relay.core.slack_signature import SlackSignatureVerifier
from endpoint_relay.entrypoints import api, slack_worker, sweep
from endpoint_relay.settings import Settings
from endpoint_relay.wiring.api import build_api
from endpoint_relay.wiring.sweep import build_sweep
from endpoint_relay.wiring.worker import build_worker
from tests.integration.slack_support import InProcessInvoker, SlackHarness
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
    clock: Callable[[], float] = time.time
    """Injected into every function's graph when it is built (on the first invocation)."""
    invoker: AsyncInvoker | None = None
    """Stands in for Lambda's asynchronous invoke of the Slack worker, when a test sets it."""
    verifier: SlackSignatureVerifier | None = None
    _functions: LocalLambda | None = None

    @property
    def functions(self) -> LocalLambda:
        """The three functions, each built from the environment with this harness's clock and invoker."""
        if self._functions is None:
            settings = Settings.from_env()
            builders = {
                API: lambda: api.create_handler(
                    build_api(settings, clock=self.clock, invoker=self.invoker, verifier=self.verifier)
                ),
                SWEEP: lambda: sweep.create_handler(build_sweep(settings, clock=self.clock)),
                WORKER: lambda: slack_worker.create_handler(build_worker(settings, clock=self.clock)),
            }
            self._functions = LocalLambda(lambda kind: builders[kind]())
        return self._functions

    def cold_start(self) -> None:
        """The next invocation runs in a new container: every graph is built again."""
        self._functions = None

    def invoke(self, event: dict[str, Any], context: Any | None = None) -> dict[str, Any]:
        """Invoke the function the template wires this event's trigger to."""
        kind = function_for(event)
        remaining = context.get_remaining_time_in_millis() if context is not None else None
        response: dict[str, Any] = self.functions.invoke(event, remaining, function=kind)
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
    reset_entrypoints()
    aws_clients.reset()
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
    reset_entrypoints()
    aws_clients.reset()


def relay_serving(request: pytest.FixtureRequest, env: dict[str, str], default_project: str, other: str) -> Relay:
    """The ``relay`` fixture, serving ``default_project`` and ``other``; ``env`` is what it is built from
    (``relay_env``, or an environment built on it)."""
    env["TOGETHER_PROJECT_ID"] = default_project
    env["TOGETHER_PROJECT_IDS"] = other
    relay: Relay = request.getfixturevalue("relay")
    return relay


# --- Slack slash command ------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def slack_receiver_server() -> Iterator[SlackReceiver]:
    with SlackReceiver() as receiver:
        yield receiver


@pytest.fixture
def slack_receiver(slack_receiver_server: SlackReceiver) -> Iterator[SlackReceiver]:
    slack_receiver_server.reset()
    yield slack_receiver_server
    slack_receiver_server.reset()


@pytest.fixture
def slack_env(relay_env: dict[str, str], moto_endpoint: str) -> dict[str, str]:
    """relay_env plus a Slack signing secret in the relay's secret, and response_urls allowed on loopback.

    The signing secret is added to whatever the secret already holds (e.g. alerting_env's webhook URL).
    """
    from devstack.aws import aws_client

    signing_secret = secrets.token_hex(16)
    COLLECTOR.register_secret(signing_secret)
    current = aws_client("secretsmanager", moto_endpoint).get_secret_value(SecretId=relay_env["RELAY_SECRET_ID"])
    document = {**json.loads(current["SecretString"]), "slack_signing_secret": signing_secret}
    put_secret(moto_endpoint, relay_env["RELAY_SECRET_ID"], document)
    relay_env["SLACK_RESPONSE_URL_HOSTS"] = "127.0.0.1"
    relay_env["SLACK_RESPONSE_URL_ALLOW_HTTP"] = "true"
    relay_env["SLACK_MUTE_USER_IDS"] = "U0ONCALL1"  # slack_support.USER_ID; muting is off until someone is named
    relay_env["_SLACK_SIGNING_SECRET"] = signing_secret
    return relay_env


@pytest.fixture
def slack(
    slack_env: dict[str, str], slack_receiver: SlackReceiver, request: pytest.FixtureRequest
) -> Iterator[SlackHarness]:
    """Signed commands through ApiFunction; the Slack worker answers follow-ups in-process, to a loopback receiver."""
    relay: Relay = request.getfixturevalue("relay")
    handler_lock = threading.Lock()
    invoker = InProcessInvoker(handler_lock, run=lambda event: relay.invoke(event))
    relay.invoker = invoker
    harness = SlackHarness(
        relay=relay,
        signing_secret=slack_env["_SLACK_SIGNING_SECRET"],
        receiver=slack_receiver,
        invoker=invoker,
        handler_lock=handler_lock,
    )
    try:
        yield harness
    finally:
        invoker.join()


# --- alerting and scheduled sweeps --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def linearizable_moto_endpoint(moto_endpoint: str) -> Iterator[str]:
    """A moto server that applies one request at a time, as DynamoDB applies each conditional write.

    It shares moto's process-wide state with ``moto_endpoint``.
    """
    from devstack.aws import start_linearizable_moto_server

    server, url = start_linearizable_moto_server()
    yield url
    server.stop()


@pytest.fixture
def alerting_env(
    relay_env: dict[str, str], moto_endpoint: str, linearizable_moto_endpoint: str, slack_receiver: SlackReceiver
) -> dict[str, str]:
    """relay_env plus an alert table, a topic read through SQS, and a webhook URL in the secret."""
    from devstack.aws import create_alert_table, create_topic_with_queue

    table = create_alert_table(moto_endpoint)
    topic_arn, queue_url = create_topic_with_queue(moto_endpoint, f"relay-alerts-{secrets.token_hex(4)}")
    webhook_key = "XX" + secrets.token_hex(12)  # the credential part of an incoming-webhook URL
    webhook_url = slack_receiver.webhook_url(f"T000LOCAL/B000LOCAL/{webhook_key}")
    COLLECTOR.register_secret(webhook_url, webhook_key)
    values = RelaySecretValues(
        together_api_key=relay_env["_API_KEY"], relay_tokens=(relay_env["_TOKEN"],), slack_webhook_url=webhook_url
    )
    put_secret(moto_endpoint, relay_env["RELAY_SECRET_ID"], values.document())
    relay_env.update(
        {
            "AWS_ENDPOINT_URL": linearizable_moto_endpoint,
            "ALERT_TABLE_NAME": table,
            "ALERT_SINKS": "slack,sns",
            "ALERT_TOPIC_ARN": topic_arn,
            "SLACK_CONNECT_TIMEOUT_SECONDS": "0.5",
            "SLACK_READ_TIMEOUT_SECONDS": "0.5",
            "SLACK_MAX_RETRY_AFTER_SECONDS": "1",
            "_ALERT_QUEUE_URL": queue_url,
            "_WEBHOOK_KEY": webhook_key,
        }
    )
    return relay_env


@pytest.fixture
def alerting(alerting_env: dict[str, str], slack_receiver: SlackReceiver, request: pytest.FixtureRequest) -> Any:
    """The relay with alerting on, its alert service on a controllable clock (see alerting_support)."""
    from tests.fakes import FakeClock
    from tests.integration.alerting_support import AlertingHarness

    relay: Relay = request.getfixturevalue("relay")
    clock = FakeClock(time.time())
    relay.clock = clock
    return AlertingHarness(
        relay=relay,
        receiver=slack_receiver,
        clock=clock,
        topic_arn=alerting_env["ALERT_TOPIC_ARN"],
        queue_url=alerting_env["_ALERT_QUEUE_URL"],
        table_name=alerting_env["ALERT_TABLE_NAME"],
    )


@pytest.fixture
def muting(
    alerting_env: dict[str, str], slack_env: dict[str, str], request: pytest.FixtureRequest
) -> tuple[SlackHarness, Any]:
    """Slack commands and alerting on one relay: the secret holds both the signing secret and the webhook URL."""
    slack: SlackHarness = request.getfixturevalue("slack")
    return slack, request.getfixturevalue("alerting")


def put_endpoint_with_history(together: TogetherSimulator, project_id: str, index: int) -> None:
    """An endpoint as large as Together documents it: its 10 newest deployment summaries, ids of the spec's length."""
    endpoint_id = f"ep_8Hq2mZk4TnR7vXw1L{index:04d}"
    deployments = [
        make_v2_deployment(f"dep_5Jm2Qx8Rt4Wn7Ky1Vb{index:04d}{n}", endpoint_id=endpoint_id, project_id=project_id)
        for n in range(10)
    ]
    together.v2.put_endpoint(make_v2_endpoint(endpoint_id, project_id=project_id, deployments=deployments), deployments)
