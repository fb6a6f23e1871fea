"""Making upstream text inert in Slack messages, within Block Kit's length limits.

Display names, models, states and error messages come from upstream and are
hostile: ``<!channel>`` must not ping anyone and ``*bold*`` must not format.
Slack's mrkdwn has no escape character, so ``&``, ``<`` and ``>`` become
entities, formatting characters are fenced with zero-width spaces (the text
still reads the same), and control characters become spaces so a value cannot
forge lines of its own. Alert notices, SNS notifications and slash-command
replies all escape through this one module.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

ELLIPSIS = "\u2026"
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_ZERO_WIDTH_SPACE = "\u200b"
_FORMATTING = frozenset("*_~`")


def escape_mrkdwn(text: str) -> str:
    return "".join(_mrkdwn_char(char) for char in text)


def escape_plain_text(text: str) -> str:
    """For plain_text objects (headers): entities and line breaks only; formatting is not parsed there."""
    return "".join(_plain_char(char) for char in text)


def single_line(text: str) -> str:
    """Control characters (newlines included) become spaces."""
    return "".join(" " if unicodedata.category(char) == "Cc" else char for char in text)


def clip_mrkdwn(text: str, limit: int) -> str:
    """Escape ``text`` and fit it in ``limit`` characters, never cutting an entity in half."""
    return _clip(text, limit, _mrkdwn_char)


def clip_plain_text(text: str, limit: int) -> str:
    return _clip(text, limit, _plain_char)


def _clip(text: str, limit: int, escape_char: Callable[[str], str]) -> str:
    pieces: list[str] = []
    used = 0
    for index, char in enumerate(text):
        piece = escape_char(char)
        reserve = 1 if index < len(text) - 1 else 0  # room for the ellipsis if more follows
        if used + len(piece) + reserve > limit:
            if used < limit:
                pieces.append(ELLIPSIS)
            break
        pieces.append(piece)
        used += len(piece)
    return "".join(pieces)


def _plain_char(char: str) -> str:
    if char in _ENTITIES:
        return _ENTITIES[char]
    return " " if unicodedata.category(char) == "Cc" else char


def _mrkdwn_char(char: str) -> str:
    if char in _FORMATTING:
        return f"{_ZERO_WIDTH_SPACE}{char}{_ZERO_WIDTH_SPACE}"
    return _plain_char(char)
