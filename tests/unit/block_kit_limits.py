"""Slack's Block Kit limits, checked over a whole message (alerts and slash-command replies alike)."""

from __future__ import annotations

from typing import Any

MAX_BLOCKS = 50
MAX_HEADER_CHARS = 150
MAX_SECTION_CHARS = 3000
MAX_FIELDS = 10
MAX_FIELD_CHARS = 2000
MAX_CONTEXT_ELEMENTS = 10


def assert_within_block_kit_limits(blocks: list[dict[str, Any]]) -> None:
    assert len(blocks) <= MAX_BLOCKS
    for block in blocks:
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= MAX_HEADER_CHARS
        elif block["type"] == "section":
            if "text" in block:
                assert 0 < len(block["text"]["text"]) <= MAX_SECTION_CHARS
            fields = block.get("fields", [])
            assert len(fields) <= MAX_FIELDS
            assert all(len(field["text"]) <= MAX_FIELD_CHARS for field in fields)
        elif block["type"] == "context":
            assert len(block["elements"]) <= MAX_CONTEXT_ELEMENTS
