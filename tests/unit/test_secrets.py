"""RelaySecrets: the secret document is validated by key, and its values never show."""

from __future__ import annotations

from typing import Any

import pytest

from endpoint_relay.core.errors import ConfigurationError
from endpoint_relay.core.secrets import RelaySecrets
from endpoint_relay.core.tokens import token_digest
from tests.leakcheck import COLLECTOR

API_KEY = "tgp-unit-SECRET-api-key-0123456789"
SIGNING_SECRET = "slack-SECRET-signing-8d7f6e5c"
WEBHOOK_URL = "https://hooks.slack.com/services/T000/B000/SECRETpath"
DIGEST = token_digest("relay-unit-token")


@pytest.fixture(autouse=True)
def _register_secrets(_no_secret_leaks: None) -> None:
    # Requested after the suite's leak check resets, so the registration holds for the whole test.
    COLLECTOR.register_secret(API_KEY, SIGNING_SECRET, WEBHOOK_URL)


def _document(**overrides: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "together_api_key": API_KEY,
        "relay_token_sha256": [DIGEST],
        "slack_signing_secret": SIGNING_SECRET,
        "slack_webhook_url": WEBHOOK_URL,
    }
    document.update(overrides)
    return document


def test_a_complete_document_is_read() -> None:
    secrets = RelaySecrets.from_document(_document())
    assert secrets == RelaySecrets(
        together_api_key=API_KEY,
        relay_token_sha256=(DIGEST,),
        slack_signing_secret=SIGNING_SECRET,
        slack_webhook_url=WEBHOOK_URL,
    )


def test_only_the_api_key_is_required() -> None:
    secrets = RelaySecrets.from_document({"together_api_key": API_KEY})
    assert secrets.relay_token_sha256 == ()
    assert secrets.slack_signing_secret is None
    assert secrets.slack_webhook_url is None


def test_the_api_key_is_trimmed_and_digests_are_lowercased() -> None:
    secrets = RelaySecrets.from_document(
        _document(together_api_key=f"  {API_KEY}\n", relay_token_sha256=[DIGEST.upper()])
    )
    assert secrets.together_api_key == API_KEY
    assert secrets.relay_token_sha256 == (DIGEST,)


@pytest.mark.parametrize("key", ["slack_signing_secret", "slack_webhook_url"])
@pytest.mark.parametrize("value", [None, ""], ids=["null", "empty"])
def test_empty_optional_values_read_as_absent(key: str, value: Any) -> None:
    assert getattr(RelaySecrets.from_document(_document(**{key: value})), key) is None


def test_unknown_keys_are_ignored() -> None:
    assert RelaySecrets.from_document(_document(rotated_at="2025-01-01", extra={"a": 1})).together_api_key == API_KEY


@pytest.mark.parametrize(
    "document",
    [[API_KEY], API_KEY, 42, None, True],
    ids=["list", "string", "number", "null", "bool"],
)
def test_a_document_that_is_not_an_object_is_refused(document: Any) -> None:
    with pytest.raises(ConfigurationError, match="not a JSON object") as caught:
        RelaySecrets.from_document(document)
    assert API_KEY not in str(caught.value)


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"together_api_key": None}, "together_api_key"),
        ({"together_api_key": ""}, "together_api_key"),
        ({"together_api_key": "   "}, "together_api_key"),
        ({"together_api_key": [API_KEY]}, "together_api_key"),
        ({"together_api_key": {"value": API_KEY}}, "together_api_key"),
        ({"relay_token_sha256": DIGEST}, "relay_token_sha256"),
        ({"relay_token_sha256": [DIGEST, API_KEY]}, "relay_token_sha256"),
        ({"relay_token_sha256": [DIGEST[:-1]]}, "relay_token_sha256"),
        ({"relay_token_sha256": [DIGEST + "0"]}, "relay_token_sha256"),
        ({"relay_token_sha256": ["z" * 64]}, "relay_token_sha256"),
        ({"relay_token_sha256": [7]}, "relay_token_sha256"),
        ({"relay_token_sha256": None}, "relay_token_sha256"),
        ({"slack_signing_secret": 12345}, "slack_signing_secret"),
        ({"slack_signing_secret": [SIGNING_SECRET]}, "slack_signing_secret"),
        ({"slack_webhook_url": {"url": WEBHOOK_URL}}, "slack_webhook_url"),
    ],
    ids=[
        "key-null",
        "key-empty",
        "key-blank",
        "key-list",
        "key-object",
        "digests-string",
        "digests-with-a-raw-key",
        "digest-short",
        "digest-long",
        "digest-not-hex",
        "digest-number",
        "digests-null",
        "signing-number",
        "signing-list",
        "webhook-object",
    ],
)
def test_invalid_values_are_refused_naming_the_key_never_the_value(overrides: dict[str, Any], key: str) -> None:
    # Given a document whose values are all secret
    document = _document(**overrides)
    # When it is refused
    with pytest.raises(ConfigurationError) as caught:
        RelaySecrets.from_document(document)
    # Then the message names the key, and no value appears in anything a log or response could show
    error = caught.value
    shown = " ".join([str(error), repr(error), error.body(), repr(error.args)])
    assert f"'{key}'" in str(error)
    for secret in (API_KEY, SIGNING_SECRET, WEBHOOK_URL, DIGEST, "12345"):
        assert secret not in shown
    assert error.__cause__ is None


def test_repr_and_str_never_show_values() -> None:
    secrets = RelaySecrets.from_document(_document())
    for text in (repr(secrets), str(secrets), f"{secrets}", f"{secrets!r}", repr([secrets]), repr({"s": secrets})):
        for secret in (API_KEY, SIGNING_SECRET, WEBHOOK_URL, DIGEST):
            assert secret not in text
    assert "RelaySecrets" in repr(secrets)


def test_secrets_are_immutable() -> None:
    secrets = RelaySecrets.from_document(_document())
    with pytest.raises(AttributeError):
        secrets.together_api_key = "changed"  # type: ignore[misc]
