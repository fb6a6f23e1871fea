"""The relay's secret document: one JSON object in Secrets Manager."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from endpoint_relay.core.errors import ConfigurationError

_SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")


@dataclass(frozen=True, slots=True)
class RelaySecrets:
    """The relay secret's values; never logged, never shown."""

    # repr=False keeps values out of tracebacks, logs and debugger output.
    together_api_key: str = field(repr=False)
    relay_token_sha256: tuple[str, ...] = field(default=(), repr=False)
    slack_signing_secret: str | None = field(default=None, repr=False)
    slack_webhook_url: str | None = field(default=None, repr=False)

    @classmethod
    def from_document(cls, document: Any) -> RelaySecrets:
        """Validate the secret's JSON; errors name keys, never values."""
        if not isinstance(document, Mapping):
            raise ConfigurationError("relay secret is not a JSON object")
        api_key = document.get("together_api_key")
        if not isinstance(api_key, str) or not api_key.strip():
            raise ConfigurationError("relay secret lacks a non-empty 'together_api_key'")
        digests = document.get("relay_token_sha256", [])
        if not isinstance(digests, list) or not all(isinstance(d, str) and _SHA256_HEX.fullmatch(d) for d in digests):
            raise ConfigurationError("relay secret 'relay_token_sha256' must be a list of SHA-256 hex digests")
        return cls(
            together_api_key=api_key.strip(),
            relay_token_sha256=tuple(d.lower() for d in digests),
            slack_signing_secret=_optional_text(document, "slack_signing_secret"),
            slack_webhook_url=_optional_text(document, "slack_webhook_url"),
        )


def _optional_text(document: Mapping[str, Any], key: str) -> str | None:
    value = document.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ConfigurationError(f"relay secret '{key}' must be a string")
    return value
