"""Making upstream text inert in Slack messages, within Block Kit's length limits.

Display names, models, states and error messages come from upstream and are
hostile: ``<!channel>`` must not ping anyone and ``*bold*`` must not format.
Slack's mrkdwn has no escape character, so ``&``, ``<`` and ``>`` become
entities and control characters become spaces (a value cannot forge lines of
its own); half a surrogate pair (JSON's ``"\\ud83d"``), which no UTF-8 body can carry,
becomes U+FFFD. Formatting characters in prose are fenced with zero-width spaces
(the text still reads the same), but identifiers go in code spans instead,
where Slack formats nothing: a fence there would be copied along with the id.
Alert notices, SNS notifications and slash-command replies all escape through
this one module.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

ELLIPSIS = "\u2026"
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_ZERO_WIDTH_SPACE = "\u200b"
_REPLACEMENT = "\ufffd"
_FORMATTING = frozenset("*_~`")
# A word of free text; one with an underscore inside is an identifier (min_replicas, 2x_nvidia_h100_80gb).
_WORD = re.compile(r"[A-Za-z0-9](?:[\w.:/-]*[A-Za-z0-9])?", re.ASCII)


def escape_mrkdwn(text: str) -> str:
    """Prose, character by character: entities, fenced formatting characters, no line breaks."""
    return "".join(_mrkdwn_char(char) for char in text)


def escape_plain_text(text: str) -> str:
    """For plain_text objects (headers): entities and line breaks only; formatting is not parsed there."""
    return "".join(_plain_char(char) for char in text)


def single_line(text: str) -> str:
    """Control characters (newlines included) become spaces; a lone surrogate becomes U+FFFD."""
    return "".join(_line_char(char) for char in text)


def code_span(text: str, limit: int = 300) -> str:
    """An identifier in a code span, copied back exactly; at most ``limit`` characters.

    Slack has no way to put a backtick inside a code span, so a value holding one
    (only free text or hostile input would) is escaped as prose instead.
    """
    if not text or "`" in text:
        return clip_mrkdwn(text, limit)
    inner = _clip_pieces([_plain_char(char) for char in text], limit - 2)
    return f"`{inner}`"


def clip_mrkdwn(text: str, limit: int) -> str:
    """Escape free text and fit it in ``limit`` characters, never cutting an entity or a code span in half.

    Identifier-like words in it (``min_replicas``) become code spans, so they copy back clean.
    """
    return _clip_pieces(list(_prose_pieces(text)), limit)


def clip_plain_text(text: str, limit: int) -> str:
    return _clip_pieces([_plain_char(char) for char in text], limit)


def _prose_pieces(text: str) -> Iterator[str]:
    """Indivisible pieces of escaped free text: one per character, one per identifier word."""
    if "`" in text:  # a backtick of the text's own could pair with a span's; fence everything instead
        yield from (_mrkdwn_char(char) for char in text)
        return
    position = 0
    for word in _WORD.finditer(text):
        if "_" in word.group():
            yield from (_mrkdwn_char(char) for char in text[position : word.start()])
            yield f"`{word.group()}`"  # ASCII letters, digits and ._:/- only: nothing to escape inside
            position = word.end()
    yield from (_mrkdwn_char(char) for char in text[position:])


def _clip_pieces(pieces: list[str], limit: int) -> str:
    kept: list[str] = []
    used = 0
    for index, piece in enumerate(pieces):
        reserve = 1 if index < len(pieces) - 1 else 0  # room for the ellipsis if more follows
        if used + len(piece) + reserve > limit:
            if used < limit:
                kept.append(ELLIPSIS)
            break
        kept.append(piece)
        used += len(piece)
    return "".join(kept)


def _plain_char(char: str) -> str:
    return _ENTITIES[char] if char in _ENTITIES else _line_char(char)


def _line_char(char: str) -> str:
    category = unicodedata.category(char)
    if category == "Cc":
        return " "
    # Upstream JSON may hold half an emoji; UTF-8 cannot encode it, so Slack's and SNS's bodies could not be sent.
    return _REPLACEMENT if category == "Cs" else char


def _mrkdwn_char(char: str) -> str:
    if char in _FORMATTING:
        return f"{_ZERO_WIDTH_SPACE}{char}{_ZERO_WIDTH_SPACE}"
    return _plain_char(char)
