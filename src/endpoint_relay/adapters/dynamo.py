"""DynamoDB plumbing shared by the tables: boto3's attribute codecs, typed failures, and conditional writes.

Exactly-once decisions (who announces, who delivers, who refreshes) rest on
conditional writes; a failed condition is an answer (``False``), not an error.
Batch reads and writes go through :func:`batches`, which resends what DynamoDB
left unprocessed (it does so under throttling or past a response's size limit).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from functools import cache
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from endpoint_relay.adapters import aws_clients
from endpoint_relay.adapters.aws_clients import error_code

CONDITION_FAILED = "ConditionalCheckFailedException"
MAX_GET_BATCH = 100
"""BatchGetItem's limit on keys per request."""
MAX_WRITE_BATCH = 25
"""BatchWriteItem's limit on requests per call."""
BATCH_ATTEMPTS = 5
"""Sends of one batch in all, the first included, while DynamoDB leaves part of it unprocessed."""
BATCH_BACKOFF_SECONDS = 0.05
"""The first pause before resending what is left; doubled each time, with full jitter, as AWS advises."""


def call[R](operation: Callable[[], R], error: Callable[[str], Exception]) -> R:
    """Run ``operation`` (one boto3 call); any AWS failure becomes ``error(<AWS error code>)``."""
    try:
        return operation()
    except (ClientError, BotoCoreError) as exc:
        raise error(error_code(exc)) from None


def write_if(operation: Callable[[], Any], error: Callable[[str], Exception]) -> bool:
    """Run ``operation`` (a put_item or update_item with a ConditionExpression): False when the condition failed."""
    try:
        operation()
    except ClientError as exc:
        if error_code(exc) == CONDITION_FAILED:
            return False
        raise error(error_code(exc)) from None
    except BotoCoreError as exc:
        raise error(error_code(exc)) from None
    return True


def batches[T](
    send: Callable[[list[T]], list[T]],
    requests: Sequence[T],
    size: int,
    *,
    pause: Callable[[float], None] = time.sleep,
) -> list[T]:
    """Send ``requests`` in chunks of ``size``; ``send`` answers what it left unprocessed, which is resent.

    Gives up on a chunk after :data:`BATCH_ATTEMPTS` sends, or when the pause and another call no longer fit the
    invocation's deadline; the requests still unprocessed then are returned for the caller to treat as not done.
    AWS failures of a send propagate (``send`` wraps its call in :func:`call`).
    """
    left: list[T] = []
    for chunk in _chunks(requests, size):
        pending = send(chunk)
        backoff = BATCH_BACKOFF_SECONDS
        for _ in range(BATCH_ATTEMPTS - 1):
            if not pending:
                break
            wait = random.uniform(0, backoff)  # noqa: S311 - jitter, not a secret
            if not aws_clients.deadline_allows(wait + aws_clients.worst_case_seconds()):
                break
            pause(wait)
            backoff *= 2
            pending = send(pending)
        left.extend(pending)
    return left


def _chunks[T](items: Sequence[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def attribute(value: Any) -> dict[str, Any]:
    """One attribute value in DynamoDB's wire form; floats go as exact decimals (whole ones as integers)."""
    serialized: dict[str, Any] = _serializer().serialize(_decimal(value))
    return serialized


def attributes(values: Mapping[str, Any]) -> dict[str, Any]:
    return {name: attribute(value) for name, value in values.items()}


def plain(item: Mapping[str, Any]) -> dict[str, Any]:
    """An item from DynamoDB's wire form: strings, ``Decimal`` numbers, lists, maps..."""
    deserializer = _deserializer()
    return {name: deserializer.deserialize(value) for name, value in item.items()}


def number(value: Any) -> float | None:
    """A numeric attribute of ``plain(item)`` as a float; None when absent or of another type."""
    return float(value) if isinstance(value, Decimal) else None


def text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _decimal(value: Any) -> Any:
    # TypeSerializer refuses floats (they are inexact); repr() is the shortest exact spelling of one.
    if isinstance(value, float):
        return Decimal(int(value)) if value.is_integer() else Decimal(repr(value))
    return value


# Imported at first use: a lookup served from the local cache never touches DynamoDB.
@cache
def _serializer() -> Any:
    from boto3.dynamodb.types import TypeSerializer

    return TypeSerializer()


@cache
def _deserializer() -> Any:
    from boto3.dynamodb.types import TypeDeserializer

    return TypeDeserializer()
