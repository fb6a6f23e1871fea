"""The relay's secret, read through Powertools parameters with its value-plus-expiry cache."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError, TransformParameterError
from botocore.exceptions import BotoCoreError, ClientError

from endpoint_relay.adapters import aws_clients
from endpoint_relay.adapters.aws_clients import LazyClient
from endpoint_relay.core.errors import ConfigurationError, DeadlineExceededError, SecretUnavailableError
from endpoint_relay.core.secrets import RelaySecrets

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager.client import SecretsManagerClient

logger = logging.getLogger(__name__)

_TRANSIENT_CODES = frozenset({"ThrottlingException", "InternalServiceError", "RequestTimeout", "ServiceUnavailable"})


class SecretStore:
    def __init__(self, secret_id: str, *, max_age: int, client: SecretsManagerClient | None = None) -> None:
        self._secret_id = secret_id
        self._max_age = max_age
        self._client: LazyClient[SecretsManagerClient] = LazyClient("secretsmanager", client)
        self._provider_instance: SecretsProvider | None = None
        self._parsed: tuple[Any, RelaySecrets] | None = None

    @property
    def _provider(self) -> SecretsProvider:
        # Created on first use: /healthz and rejected requests never pay for the client.
        if self._provider_instance is None:
            self._provider_instance = SecretsProvider(boto3_client=self._client())
        return self._provider_instance

    def get(self, *, force_refresh: bool = False) -> RelaySecrets:
        document = self._fetch(force_refresh)
        # The provider returns the same cached object until it expires; validate each new one once.
        parsed = self._parsed
        if parsed is not None and parsed[0] is document:
            return parsed[1]
        try:
            secrets = RelaySecrets.from_document(document)
        except ConfigurationError:
            # Valid JSON but unusable: forget it, or the operator's fix would wait out max_age.
            self.clear_cache()
            raise
        self._parsed = (document, secrets)
        return secrets

    def _fetch(self, force_refresh: bool) -> Any:
        try:
            return self._provider.get(
                self._secret_id, max_age=self._max_age, transform="json", force_fetch=force_refresh
            )
        except TransformParameterError:
            raise ConfigurationError("relay secret is not valid JSON") from None
        except GetParameterError as exc:
            # Powertools re-raises inside its except block without `from`: the boto error is the context.
            raise _classify(exc.__cause__ or exc.__context__ or exc) from None

    def clear_cache(self) -> None:
        if self._provider_instance is not None:
            self._provider_instance.clear_cache()
        self._parsed = None


def _classify(cause: BaseException) -> Exception:
    if isinstance(cause, DeadlineExceededError):  # not started: the invocation had no time left for it
        return cause
    if isinstance(cause, ClientError):
        code = aws_clients.error_code(cause)
        logger.error("reading the relay secret failed", extra={"aws_error_code": code})
        if code in _TRANSIENT_CODES:
            return SecretUnavailableError("the relay's secret store is busy; retry shortly", retry_after=1)
        return ConfigurationError("the relay cannot read its secret")
    if isinstance(cause, BotoCoreError):
        logger.error("reading the relay secret failed", extra={"aws_error": type(cause).__name__})
        return SecretUnavailableError("the relay's secret store is unreachable; retry shortly", retry_after=1)
    return ConfigurationError("the relay cannot read its secret")
