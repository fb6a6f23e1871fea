"""DynamoDB plumbing shared by the tables: boto3's attribute codecs, typed failures, and conditional writes.

Exactly-once decisions (who announces, who delivers, who refreshes) rest on
conditional writes; a failed condition is an answer (``False``), not an error.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from functools import cache
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from endpoint_relay.adapters.aws_clients import error_code

CONDITION_FAILED = "ConditionalCheckFailedException"


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
