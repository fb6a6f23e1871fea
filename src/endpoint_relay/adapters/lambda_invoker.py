"""Asynchronous invocation of the Slack worker: the slash command acknowledges now, the worker finishes it.

``InvocationType=Event`` returns as soon as Lambda has queued the event, so
the acknowledgement stays inside Slack's 3-second limit however slow the work is.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from endpoint_relay.adapters import aws_clients
from endpoint_relay.adapters.aws_clients import LazyClient
from endpoint_relay.core.errors import DeadlineExceededError

if TYPE_CHECKING:
    from mypy_boto3_lambda.client import LambdaClient

logger = logging.getLogger(__name__)

MAX_ASYNC_PAYLOAD_BYTES = 256 * 1024
"""Lambda's limit for an asynchronous invocation's event."""


class InvokeError(Exception):
    """The follow-up invocation could not be queued."""


class AsyncInvoker(Protocol):
    def invoke_async(self, payload: Mapping[str, Any]) -> None:
        """Queue ``payload`` as a new event for the target function; raise InvokeError if that failed."""
        ...


class LambdaInvoker:
    def __init__(self, function_name: str | None, *, client: LambdaClient | None = None) -> None:
        self._function_name = function_name
        self._lambda: LazyClient[LambdaClient] = LazyClient("lambda", client)

    def invoke_async(self, payload: Mapping[str, Any]) -> None:
        if not self._function_name:
            raise InvokeError("the Slack worker function is not configured (SLACK_WORKER_FUNCTION is unset)")
        body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
        if len(body) > MAX_ASYNC_PAYLOAD_BYTES:
            raise InvokeError("the follow-up event is larger than Lambda accepts")
        try:
            response = self._lambda().invoke(FunctionName=self._function_name, InvocationType="Event", Payload=body)
        except ClientError as exc:
            code = aws_clients.error_code(exc)
            logger.error("queueing the follow-up invocation failed", extra={"aws_error_code": code})
            raise InvokeError(f"Lambda refused the follow-up invocation ({code})") from None
        except BotoCoreError as exc:
            logger.error("queueing the follow-up invocation failed", extra={"aws_error": type(exc).__name__})
            raise InvokeError("Lambda could not be reached for the follow-up invocation") from None
        except DeadlineExceededError:
            raise InvokeError("too little time left to queue the follow-up invocation") from None
        if response.get("StatusCode") != 202:
            raise InvokeError(f"Lambda answered {response.get('StatusCode')} to an asynchronous invocation")
