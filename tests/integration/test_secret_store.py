"""SecretStore against Secrets Manager on moto server, and against a local server that answers with AWS errors."""

from __future__ import annotations

import json
import logging
import secrets
import socket
import traceback
from collections import Counter
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config

from devstack.aws import REGION, RelaySecretValues, create_secret, put_secret
from devstack.loopback import LoopbackServer, QuietHandler
from endpoint_relay.adapters.secret_store import SecretStore
from endpoint_relay.core import errors
from endpoint_relay.core.tokens import token_digest
from tests.leakcheck import COLLECTOR

pytestmark = pytest.mark.integration


def _secretsmanager(endpoint_url: str, *, max_attempts: int = 1) -> Any:
    config = Config(connect_timeout=0.5, read_timeout=1, retries={"total_max_attempts": max_attempts})
    return boto3.session.Session().client(
        "secretsmanager",
        region_name=REGION,
        endpoint_url=endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=config,
    )


class CountingClient:
    """A real boto3 client whose GetSecretValue calls are counted by a botocore event hook."""

    def __init__(self, endpoint_url: str) -> None:
        self.client = _secretsmanager(endpoint_url)
        self.calls: Counter[str] = Counter()
        self.client.meta.events.register("before-call", self._count)

    def _count(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1

    @property
    def fetches(self) -> int:
        return self.calls["GetSecretValue"]


@pytest.fixture
def api_key(_no_secret_leaks: None) -> str:
    key = "tgp-" + secrets.token_urlsafe(24)
    COLLECTOR.register_secret(key)
    return key


@pytest.fixture
def counting(moto_endpoint: str) -> CountingClient:
    return CountingClient(moto_endpoint)


def _shown(error: BaseException) -> str:
    """Everything a log line or a response could show about an error, traceback included."""
    parts = [str(error), repr(error), "".join(traceback.format_exception(error))]
    if isinstance(error, errors.RelayError):
        parts.append(error.body())
    return "\n".join(parts)


# -- happy path and caching ----------------------------------------------------------------------------------------


def test_the_secret_is_read_and_validated(moto_endpoint: str, counting: CountingClient, api_key: str) -> None:
    token = "relay-" + secrets.token_urlsafe(8)
    COLLECTOR.register_secret(token)
    secret_id = create_secret(moto_endpoint, RelaySecretValues(together_api_key=api_key, relay_tokens=(token,)))

    relay_secrets = SecretStore(secret_id, max_age=300, client=counting.client).get()

    assert relay_secrets.together_api_key == api_key
    assert relay_secrets.relay_token_sha256 == (token_digest(token),)
    assert counting.fetches == 1


def test_the_secret_is_cached_for_max_age(moto_endpoint: str, counting: CountingClient, api_key: str) -> None:
    # Given a store that has read the secret once
    secret_id = create_secret(moto_endpoint, RelaySecretValues(together_api_key=api_key, relay_tokens=()))
    store = SecretStore(secret_id, max_age=300, client=counting.client)
    first = store.get()
    # When it is asked again, even after the secret changed
    put_secret(moto_endpoint, secret_id, {"together_api_key": "tgp-changed"})
    again = [store.get() for _ in range(5)]
    # Then no further call was made, and the document was validated only once
    assert counting.fetches == 1
    assert all(item is first for item in again)


def test_max_age_zero_reads_every_time(moto_endpoint: str, counting: CountingClient, api_key: str) -> None:
    secret_id = create_secret(moto_endpoint, RelaySecretValues(together_api_key=api_key, relay_tokens=()))
    store = SecretStore(secret_id, max_age=0, client=counting.client)
    store.get()
    store.get()
    assert counting.fetches == 2


def test_force_refresh_reads_the_rotated_secret(moto_endpoint: str, counting: CountingClient, api_key: str) -> None:
    # Given a cached secret, rotated afterwards
    secret_id = create_secret(moto_endpoint, RelaySecretValues(together_api_key=api_key, relay_tokens=()))
    store = SecretStore(secret_id, max_age=300, client=counting.client)
    assert store.get().together_api_key == api_key
    rotated = "tgp-rotated-" + secrets.token_urlsafe(12)
    COLLECTOR.register_secret(rotated)
    put_secret(moto_endpoint, secret_id, {"together_api_key": rotated})
    # When a refresh is forced
    refreshed = store.get(force_refresh=True)
    # Then exactly one more call was made, and later reads use the new value from the cache
    assert refreshed.together_api_key == rotated
    assert store.get() is refreshed
    assert counting.fetches == 2


def test_clear_cache_forgets_the_secret(moto_endpoint: str, counting: CountingClient, api_key: str) -> None:
    secret_id = create_secret(moto_endpoint, RelaySecretValues(together_api_key=api_key, relay_tokens=()))
    store = SecretStore(secret_id, max_age=300, client=counting.client)
    store.get()
    store.clear_cache()
    store.get()
    assert counting.fetches == 2


def test_nothing_is_fetched_until_the_secret_is_needed(counting: CountingClient) -> None:
    SecretStore("endpoint-relay/never-read", max_age=300, client=counting.client)
    assert counting.fetches == 0


# -- unusable secrets ----------------------------------------------------------------------------------------------


def test_a_missing_secret_is_a_configuration_error(counting: CountingClient) -> None:
    store = SecretStore("endpoint-relay/does-not-exist", max_age=300, client=counting.client)
    with pytest.raises(errors.ConfigurationError) as caught:
        store.get()
    assert caught.value.status == 500
    assert caught.value.code == "relay_misconfigured"


@pytest.mark.parametrize(
    "text",
    ["tgp-{secret} is the key", '{"together_api_key": "tgp-{secret}"', "{secret}", ""],
    ids=["plain-text", "truncated-json", "bare-value", "empty"],
)
def test_a_secret_that_is_not_json_is_a_configuration_error(
    moto_endpoint: str, counting: CountingClient, text: str
) -> None:
    # Given a secret holding text that is not JSON (and would be a secret in its own right)
    value = secrets.token_urlsafe(16)
    COLLECTOR.register_secret(value)
    secret_id = create_secret(moto_endpoint, RelaySecretValues(together_api_key="placeholder", relay_tokens=()))
    put_secret(moto_endpoint, secret_id, text.replace("{secret}", value) or " ")
    # When it is read
    with pytest.raises(errors.ConfigurationError, match="not valid JSON") as caught:
        SecretStore(secret_id, max_age=300, client=counting.client).get()
    # Then the error says so without quoting the value
    assert value not in _shown(caught.value)


@pytest.mark.parametrize(
    "document",
    [
        {"relay_token_sha256": []},
        {"together_api_key": ""},
        {"together_api_key": None},
        {"together_api_key": 12345},
        {"Together_Api_Key": "tgp-{secret}"},
        ["tgp-{secret}"],
        "tgp-{secret}",
    ],
    ids=["absent", "empty", "null", "number", "wrong-case", "list", "json-string"],
)
def test_a_secret_without_a_usable_api_key_is_a_configuration_error(
    moto_endpoint: str, counting: CountingClient, document: Any
) -> None:
    value = secrets.token_urlsafe(16)
    COLLECTOR.register_secret(value)
    secret_id = create_secret(moto_endpoint, RelaySecretValues(together_api_key="placeholder", relay_tokens=()))
    text = json.dumps(document).replace("{secret}", value)
    put_secret(moto_endpoint, secret_id, text)

    with pytest.raises(errors.ConfigurationError) as caught:
        SecretStore(secret_id, max_age=300, client=counting.client).get()

    assert value not in _shown(caught.value)
    assert "12345" not in str(caught.value)


def test_a_secret_with_bad_token_digests_is_refused_without_quoting_them(
    moto_endpoint: str, counting: CountingClient, api_key: str
) -> None:
    secret_id = create_secret(moto_endpoint, RelaySecretValues(together_api_key=api_key, relay_tokens=()))
    put_secret(moto_endpoint, secret_id, {"together_api_key": api_key, "relay_token_sha256": ["relay-raw-token"]})
    COLLECTOR.register_secret("relay-raw-token")

    with pytest.raises(errors.ConfigurationError, match="relay_token_sha256") as caught:
        SecretStore(secret_id, max_age=300, client=counting.client).get()

    shown = _shown(caught.value)
    assert api_key not in shown
    assert "relay-raw-token" not in shown


# -- Secrets Manager failing: a local server that answers the way the service does ---------------------------------


class FakeSecretsManagerServer:
    """Answers every call with one AWS JSON-protocol error, as Secrets Manager does."""

    def __init__(self, status: int, error_type: str) -> None:
        self.requests: list[str] = []
        owner = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                owner.requests.append(self.headers.get("X-Amz-Target", ""))
                body = json.dumps({"__type": error_type, "message": f"simulated {error_type}"}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.1")
                self.send_header("x-amzn-ErrorType", error_type)
                self.send_header("x-amzn-RequestId", "00000000-0000-0000-0000-000000000000")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = LoopbackServer(Handler, name="fake-sm").start()

    @property
    def url(self) -> str:
        return self._server.url

    def stop(self) -> None:
        self._server.stop()


@pytest.fixture
def failing_secrets_manager() -> Iterator[type[FakeSecretsManagerServer]]:
    started: list[FakeSecretsManagerServer] = []

    class Started(FakeSecretsManagerServer):
        def __init__(self, status: int, error_type: str) -> None:
            super().__init__(status, error_type)
            started.append(self)

    yield Started
    for server in started:
        server.stop()


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (400, "ThrottlingException"),
        (500, "InternalServiceError"),
        (503, "ServiceUnavailable"),
        (408, "RequestTimeout"),
    ],
)
def test_a_busy_secret_store_is_worth_retrying_soon(
    failing_secrets_manager: type[FakeSecretsManagerServer],
    caplog: pytest.LogCaptureFixture,
    status: int,
    error_type: str,
) -> None:
    # Given Secrets Manager answering with a transient error
    server = failing_secrets_manager(status, error_type)
    store = SecretStore("endpoint-relay/any", max_age=300, client=_secretsmanager(server.url))
    # When the secret is read
    with (
        caplog.at_level(logging.ERROR, logger="endpoint_relay.adapters.secret_store"),
        pytest.raises(errors.SecretUnavailableError) as caught,
    ):
        store.get()
    # Then the caller gets a 503 with Retry-After, and the log names the AWS error code
    assert caught.value.status == 503
    assert caught.value.headers() == {"Retry-After": "1"}
    assert server.requests == ["secretsmanager.GetSecretValue"]
    assert [getattr(record, "aws_error_code", None) for record in caplog.records] == [error_type]


@pytest.mark.parametrize(
    "error_type",
    ["AccessDeniedException", "DecryptionFailure", "ResourceNotFoundException", "InvalidRequestException"],
)
def test_a_secret_the_relay_may_not_read_is_a_configuration_error(
    failing_secrets_manager: type[FakeSecretsManagerServer], error_type: str
) -> None:
    server = failing_secrets_manager(400, error_type)
    store = SecretStore("endpoint-relay/any", max_age=300, client=_secretsmanager(server.url))
    with pytest.raises(errors.ConfigurationError, match="cannot read its secret"):
        store.get()
    assert len(server.requests) == 1


def test_an_unreachable_secret_store_is_worth_retrying_soon() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    store = SecretStore("endpoint-relay/any", max_age=300, client=_secretsmanager(f"http://127.0.0.1:{port}"))
    with pytest.raises(errors.SecretUnavailableError):
        store.get()


def test_a_failed_read_is_not_cached(
    moto_endpoint: str, failing_secrets_manager: type[FakeSecretsManagerServer], api_key: str
) -> None:
    # Given a read that failed
    server = failing_secrets_manager(400, "ThrottlingException")
    store = SecretStore("endpoint-relay/any", max_age=300, client=_secretsmanager(server.url))
    with pytest.raises(errors.SecretUnavailableError):
        store.get()
    # Then the next read asks again
    with pytest.raises(errors.SecretUnavailableError):
        store.get()
    assert len(server.requests) == 2
