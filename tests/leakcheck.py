"""Collects every log record and response body a test produces, and every secret it created.

An autouse fixture asserts after each test that no registered secret value
appears in anything collected: the Together key, relay tokens, the Slack
signing secret and the webhook URL.
"""

from __future__ import annotations

import logging
import threading


class LeakCollector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self._lock = threading.Lock()
        self.texts: list[str] = []
        self.secrets: set[str] = set()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except Exception:  # a broken record must not hide others
            text = repr(record.__dict__)
        with self._lock:
            self.texts.append(text)

    def add_text(self, text: str) -> None:
        with self._lock:
            self.texts.append(text)

    def register_secret(self, *values: str | None) -> None:
        with self._lock:
            self.secrets.update(value for value in values if value)

    def leaks(self) -> list[tuple[str, str]]:
        with self._lock:
            return [(secret, text) for text in self.texts for secret in self.secrets if secret in text]

    def reset(self) -> None:
        with self._lock:
            self.texts.clear()
            self.secrets.clear()


COLLECTOR = LeakCollector()
