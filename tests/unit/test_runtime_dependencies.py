"""The runtime dependency set stays exactly boto3, aws-lambda-powertools and urllib3, plus what they pull in."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REQUIREMENTS = Path(__file__).resolve().parents[2] / "src" / "requirements.txt"
DIRECT = {"boto3", "aws-lambda-powertools", "urllib3"}
# What pip resolves them to. A new name here goes into every Lambda package: add it on purpose, not by accident.
TRANSITIVE = {"botocore", "s3transfer", "jmespath", "python-dateutil", "six", "typing-extensions"}


def _pins() -> dict[str, Requirement]:
    lines = [line.split("#", 1)[0].strip() for line in REQUIREMENTS.read_text(encoding="utf-8").splitlines()]
    requirements = [Requirement(line) for line in lines if line]
    return {canonicalize_name(requirement.name): requirement for requirement in requirements}


def _resolved(names: set[str]) -> set[str]:
    """Names pulled in by ``names`` as installed in this venv, recursively, without extras."""
    seen: set[str] = set()
    todo = sorted(names)
    while todo:
        name = canonicalize_name(todo.pop())
        if name in seen:
            continue
        seen.add(name)
        for text in distribution(name).requires or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return seen


def test_requirements_name_exactly_the_three_runtime_dependencies_with_exact_pins() -> None:
    pins = _pins()
    assert set(pins) == DIRECT
    for requirement in pins.values():
        (specifier,) = requirement.specifier
        assert specifier.operator == "==" and "*" not in specifier.version, requirement
        assert not requirement.extras and requirement.marker is None, requirement


def test_the_installed_versions_are_the_pinned_ones() -> None:
    for name, requirement in _pins().items():
        try:
            installed = distribution(name).version
        except PackageNotFoundError:
            pytest.fail(f"{name} is pinned in src/requirements.txt but not installed: run make setup")
        assert requirement.specifier.contains(installed, prereleases=True), (name, installed, str(requirement))


def test_what_they_pull_in_is_the_allowed_transitive_set() -> None:
    assert _resolved(DIRECT) == DIRECT | TRANSITIVE
