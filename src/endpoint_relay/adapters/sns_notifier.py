"""SNS sink: Amazon Q Developer custom notifications, published ten to a PublishBatch call."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from endpoint_relay.adapters import aws_clients
from endpoint_relay.adapters.aws_clients import LazyClient
from endpoint_relay.core.alerting import DeliveryError, Notice
from endpoint_relay.core.digest import Digest
from endpoint_relay.core.digest_render import sns_message
from endpoint_relay.core.errors import DeadlineExceededError
from endpoint_relay.core.sns_message import build

if TYPE_CHECKING:
    from mypy_boto3_sns.client import SNSClient

logger = logging.getLogger(__name__)

_BATCH_SIZE = 10  # PublishBatch's limit
_PERMANENT_CODES = frozenset({"NotFound", "AuthorizationError", "InvalidParameter", "InvalidParameterValue"})


class SnsSink:
    name = "sns"

    def __init__(self, topic_arn: str, console_url: Callable[[str], str], *, client: SNSClient | None = None) -> None:
        self._topic_arn = topic_arn
        self._console_url = console_url
        self._sns: LazyClient[SNSClient] = LazyClient("sns", client)

    def deliver(self, notices: Sequence[Notice]) -> dict[str, DeliveryError | None]:
        results: dict[str, DeliveryError | None] = {}
        for start in range(0, len(notices), _BATCH_SIZE):
            results.update(self._publish_batch(notices[start : start + _BATCH_SIZE]))
        return results

    def _publish_batch(self, notices: Sequence[Notice]) -> dict[str, DeliveryError | None]:
        # Batch entry ids only need to be unique within the call.
        entries = {f"n{index}": notice for index, notice in enumerate(notices)}
        response = _attempt(
            lambda: self._sns().publish_batch(
                TopicArn=self._topic_arn,
                PublishBatchRequestEntries=[
                    _entry(entry_id, notice, self._console_url) for entry_id, notice in entries.items()
                ],
            )
        )
        if isinstance(response, DeliveryError):
            return dict.fromkeys((notice.id for notice in notices), response)
        results: dict[str, DeliveryError | None] = {notice.id: None for notice in notices}
        for failure in response.get("Failed", []):
            notice = entries.get(failure.get("Id", ""))
            if notice is not None:
                code = str(failure.get("Code", "Failed"))
                results[notice.id] = _failed(code, permanent=bool(failure.get("SenderFault")))
        return results

    def deliver_digest(self, digest: Digest) -> DeliveryError | None:
        """The daily digest, as one notification."""
        message = sns_message(digest)
        attributes: Any = {name: _attribute(value) for name, value in message.attributes.items()}
        response = _attempt(
            lambda: self._sns().publish(
                TopicArn=self._topic_arn,
                Subject=message.subject,
                Message=message.message,
                MessageAttributes=attributes,
            )
        )
        return response if isinstance(response, DeliveryError) else None


def _attempt[T](publish: Callable[[], T]) -> T | DeliveryError:
    """``publish``'s response, or the (logged) failure it met instead."""
    try:
        return publish()
    except ClientError as exc:
        code = aws_clients.error_code(exc)
        return _failed(code, permanent=code in _PERMANENT_CODES)
    except BotoCoreError as exc:
        return _failed(type(exc).__name__)
    except DeadlineExceededError:
        # Not started, so not published: it stays owed for the next try.
        return _failed("deadline_exceeded")


def _entry(entry_id: str, notice: Notice, console_url: Callable[[str], str]) -> Any:
    message = build(notice, console_url(notice.endpoint.id))
    return {
        "Id": entry_id,
        "Subject": message.subject,
        "Message": message.message,
        "MessageAttributes": {name: _attribute(value) for name, value in message.attributes.items()},
    }


def _attribute(value: str | tuple[str, ...]) -> dict[str, str]:
    if isinstance(value, str):
        return {"DataType": "String", "StringValue": value}
    # A filter policy on a String.Array attribute matches when any element matches.
    return {"DataType": "String.Array", "StringValue": json.dumps(list(value))}


def _failed(code: str, *, permanent: bool = False) -> DeliveryError:
    logger.warning("SNS publish failed", extra={"error_kind": code, "permanent": permanent})
    return DeliveryError(f"SNS refused the notification ({code})", kind=code, permanent=permanent)
