"""Collects every log record and response body a test produces, and every secret it created.

An autouse fixture asserts after each test that no registered secret value
appears in anything collected: the Together key, relay tokens, the Slack
signing secret and the webhook URL.

Beyond log records and harness responses, the suite-wide sweep also collects
(see tests/conftest.py) each test's captured stdout and stderr (the JSON log
lines and EMF metrics as written), every message a local Slack receiver got,
every notification published to SNS on the in-process moto server, and the
output of the load run's HTTP front. How much was scanned is counted for the
reliability report.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any


class LeakCollector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self._lock = threading.Lock()
        self.texts: list[str] = []
        self.secrets: set[str] = set()
        self._sources: list[str] = []
        self._readers: dict[str, Callable[[], Iterable[str]]] = {}
        self.scanned: Counter[str] = Counter()
        """Texts scanned so far in this session, by source (log, response, stdout, slack, sns...)."""
        self.scanned_bytes = 0
        self.tests_checked = 0
        self.secret_checks = 0
        """Secret values checked, summed over tests (each test registers its own)."""
        self.leaks_found = 0

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except Exception:  # a broken record must not hide others
            text = repr(record.__dict__)
        self.add_text(text, source="log")

    def add_text(self, text: str, source: str = "response") -> None:
        if not text:
            return
        with self._lock:
            self.texts.append(text)
            self._sources.append(source)

    def watch(self, source: str, read_new: Callable[[], Iterable[str]]) -> None:
        """Scan what ``read_new`` returns (texts that appeared since its last call) at every check."""
        self._readers[source] = read_new

    def register_secret(self, *values: str | None) -> None:
        with self._lock:
            self.secrets.update(value for value in values if value)

    def leaks(self) -> list[tuple[str, str]]:
        with self._lock:
            return [(secret, text) for text in self.texts for secret in self.secrets if secret in text]

    def leak_sources(self) -> set[str]:
        """Where registered secrets appear so far (log, response, stdout, slack, sns...), watched sources included."""
        self._pull()
        with self._lock:
            pairs = zip(self.texts, self._sources, strict=True)
            return {source for text, source in pairs if any(secret in text for secret in self.secrets)}

    def check(self) -> list[tuple[str, str]]:
        """Pull the watched sources in, then ``leaks()``; counts what was scanned."""
        self._pull()
        found = self.leaks()
        with self._lock:
            self.tests_checked += 1
            self.secret_checks += len(self.secrets)
            self.leaks_found += len(found)
            self.scanned.update(self._sources)
            self.scanned_bytes += sum(len(text) for text in self.texts)
        return found

    def reset(self) -> None:
        self._pull()  # what earlier tests left in the watched sources is theirs, not this test's
        with self._lock:
            self.texts.clear()
            self._sources.clear()
            self.secrets.clear()

    def figures(self) -> dict[str, Any]:
        with self._lock:
            return {
                "tests_checked": self.tests_checked,
                "texts_scanned": sum(self.scanned.values()),
                "texts_scanned_by_source": dict(sorted(self.scanned.items())),
                "bytes_scanned": self.scanned_bytes,
                "secret_values_checked": self.secret_checks,
                "leaks": self.leaks_found,
            }

    def _pull(self) -> None:
        for source, read_new in list(self._readers.items()):
            for text in read_new():
                self.add_text(text, source=source)


COLLECTOR = LeakCollector()


class MotoSnsReader:
    """Notifications published to SNS on the in-process moto server, newest since the last call.

    Reads moto's own record of what each topic received, so everything the relay
    published is scanned, whether or not a test read it back through SQS.
    """

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}

    def __call__(self) -> list[str]:
        models = sys.modules.get("moto.sns.models")
        if models is None:  # no moto in this process (unit tests): nothing was published
            return []
        texts: list[str] = []
        for regions in list(models.sns_backends.values()):
            for backend in list(regions.values()):
                for arn, topic in list(backend.topics.items()):
                    sent = list(topic.sent_notifications)
                    for notification in sent[self._seen.get(arn, 0) :]:
                        # (message id, message, subject, message attributes, group id)
                        texts.append("\n".join(str(part) for part in notification))
                    self._seen[arn] = len(sent)
        return texts
