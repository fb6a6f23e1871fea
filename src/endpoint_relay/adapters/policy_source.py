"""The policy document, read from an SSM parameter through Powertools' value-plus-expiry cache."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.parameters import SSMProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

from endpoint_relay.adapters.aws_clients import LazyClient
from endpoint_relay.core.errors import ConfigurationError, DeadlineExceededError
from endpoint_relay.core.policy import PolicyDocument, PolicyError

if TYPE_CHECKING:
    from mypy_boto3_ssm.client import SSMClient

logger = logging.getLogger(__name__)


class SsmPolicySource:
    """Callable returning the current policy; a new parameter value is validated once."""

    def __init__(self, parameter_name: str, *, max_age: int, client: SSMClient | None = None) -> None:
        self._name = parameter_name
        self._max_age = max_age
        self._client: LazyClient[SSMClient] = LazyClient("ssm", client)
        self._provider_instance: SSMProvider | None = None
        self._parsed: tuple[Any, PolicyDocument] | None = None

    @property
    def _provider(self) -> SSMProvider:
        if self._provider_instance is None:
            self._provider_instance = SSMProvider(boto3_client=self._client())
        return self._provider_instance

    def __call__(self) -> PolicyDocument:
        try:
            text = self._provider.get(self._name, max_age=self._max_age)
        except GetParameterError as exc:
            # Powertools wraps the boto3 error, sometimes without ``from``: it is the cause or the context.
            cause = exc.__cause__ or exc.__context__
            if isinstance(cause, DeadlineExceededError):
                raise cause from None
            logger.error("reading the policy parameter failed", extra={"error": type(exc.__cause__ or exc).__name__})
            raise ConfigurationError(f"the relay cannot read its policy parameter {self._name}") from None
        parsed = self._parsed
        if parsed is not None and parsed[0] == text:
            return parsed[1]
        try:
            policy = PolicyDocument.from_json(str(text))
        except PolicyError as exc:
            logger.error("the policy parameter is invalid", extra={"parameter": self._name, "reason": str(exc)})
            raise ConfigurationError(f"policy parameter {self._name} is invalid: {exc}") from None
        self._parsed = (text, policy)
        return policy
