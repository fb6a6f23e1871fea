"""tools/aws_services.py: the build keeps the botocore models of exactly the services the code calls."""

from __future__ import annotations

from pathlib import Path

import botocore.session

from tests.unit.template_facts import PACKAGE, aws_calls
from tools import aws_services, package_size


def test_the_build_keeps_every_service_the_template_check_finds_calls_to() -> None:
    # Given the services the template-consistency check finds operations of
    called = {call.service for call in aws_calls()}
    # When the build derives what to keep
    kept = aws_services.services_used(PACKAGE, botocore.session.get_session().get_available_services())
    # Then it is the same set: a new AWS call is kept in the package as soon as the template must grant it
    assert kept == called
    assert "sts" not in kept  # Lambda's credentials come from the environment: no STS model needed


def test_keep_only_removes_other_services_and_keeps_the_shared_files(tmp_path: Path) -> None:
    for service in ("dynamodb", "s3", "sts"):
        (tmp_path / service / "2012-08-10").mkdir(parents=True)
    for shared in ("endpoints.json", "partitions.json", "_retry.json", "sdk-default-configuration.json"):
        (tmp_path / shared).write_text("{}", encoding="utf-8")

    removed = aws_services.keep_only(tmp_path, {"dynamodb"})

    assert removed == ["s3", "sts"]
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "_retry.json",
        "dynamodb",
        "endpoints.json",
        "partitions.json",
        "sdk-default-configuration.json",
    ]


def test_every_build_dir_with_the_relay_package_is_a_function(tmp_path: Path) -> None:
    (tmp_path / "ApiFunction" / "endpoint_relay").mkdir(parents=True)
    (tmp_path / "SweepFunction" / "endpoint_relay").mkdir(parents=True)
    (tmp_path / "SomeLayer" / "python").mkdir(parents=True)
    (tmp_path / "template.yaml").write_text("", encoding="utf-8")

    assert [path.name for path in package_size.function_dirs(tmp_path)] == ["ApiFunction", "SweepFunction"]
