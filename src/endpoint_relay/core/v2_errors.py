"""Together's v2 error bodies, read into the relay's ErrorData.

The spec leaves the v2 error shape INFERRED and the SDK reads two: the v1
``ErrorData`` envelope (``{"error": {"message", "type", "param", "code"}}``)
and the gRPC-gateway shape (``{"message", "code", "details"}``). Callers always
get ErrorData. Only a 400's message is passed on: it explains the caller's own
query (a bad filter or cursor). It is cut to one short line of printable
text, and anything else in the body (details, codes) stays behind.
"""

from __future__ import annotations

import json
import re
from typing import Any

from endpoint_relay.core.errors import InvalidQueryError

MAX_MESSAGE_LENGTH = 200
_PARAM = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,31}")
_FALLBACK = "Together refused the request's parameters"


def upstream_error(body: str) -> tuple[str | None, str | None]:
    """(message, param) from either documented shape; ``None`` where the body does not say."""
    try:
        document: Any = json.loads(body)
    except (ValueError, RecursionError):
        return None, None
    if not isinstance(document, dict):
        return None, None
    envelope = document.get("error")
    if isinstance(envelope, dict):
        param = envelope.get("param")
        return _line(envelope.get("message")), param if isinstance(param, str) and _PARAM.fullmatch(param) else None
    if isinstance(envelope, str):  # some gateways put the message itself under "error"
        return _line(envelope), None
    return _line(document.get("message")), None


def bad_request(body: str) -> InvalidQueryError:
    message, param = upstream_error(body)
    return InvalidQueryError(message or _FALLBACK, param=param)


def _line(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    text = " ".join("".join(ch if ch.isprintable() else " " for ch in value).split())
    if len(text) > MAX_MESSAGE_LENGTH:
        text = text[: MAX_MESSAGE_LENGTH - 1] + "…"
    return text or None
