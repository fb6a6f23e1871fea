"""Benchmark: the Lambda package as `make build` left it, and a copy unpacked the way Lambda unpacks it.

Reports each function's zipped and unzipped size and how long unpacking the zip takes here (Lambda also
downloads it first, which this machine cannot measure). :func:`unpacked` gives cold_start.py the
read-only directory for its ``relay_package`` variant, next to the from-source ``relay``.

``python -m benchmarks.package`` measures the sizes and a few cold starts of both variants on its own.
"""

from __future__ import annotations

import contextlib
import stat
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchmarks.stack import REPO
from benchmarks.stats import summary
from tools import package_size

BUILD_DIR = REPO / ".aws-sam" / "build"
LOOKUP_FUNCTIONS = ("ApiFunction", "RelayFunction")
"""The function that serves lookups: the first of these that was built."""


def lookup_function_dir() -> Path | None:
    return next((BUILD_DIR / name for name in LOOKUP_FUNCTIONS if (BUILD_DIR / name / "endpoint_relay").is_dir()), None)


def measure(unpack_runs: int = 5) -> dict[str, Any]:
    code_dirs = package_size.function_dirs(BUILD_DIR) if BUILD_DIR.is_dir() else []
    if not code_dirs:
        return {"measured": False, "reason": "no sam build output: run make build"}
    functions = {}
    for code_dir in code_dirs:
        size = package_size.measure(code_dir)
        functions[size.function] = {
            "zipped_mb": round(size.zipped_bytes / package_size.MB, 2),
            "unzipped_mb": round(size.unzipped_bytes / package_size.MB, 2),
            "files": size.files,
        }
    lookup = lookup_function_dir()
    unpack_ns: list[int] = []
    if lookup is not None:
        with tempfile.TemporaryDirectory(prefix="relay-package-") as scratch:
            archive = Path(scratch, "function.zip")
            package_size.write_zip(lookup, archive)
            for run in range(unpack_runs):
                started = time.monotonic_ns()
                with zipfile.ZipFile(archive) as bundle:
                    bundle.extractall(Path(scratch, f"unpacked-{run}"))
                unpack_ns.append(time.monotonic_ns() - started)
    return {
        "measured": True,
        "functions": functions,
        "unpack_function": lookup.name if lookup else None,
        "unpack_ms": summary(unpack_ns, scale=1e6, digits=1) if unpack_ns else None,
    }


@contextlib.contextmanager
def unpacked() -> Iterator[Path | None]:
    """The lookup function's package, zipped and unpacked read-only into a temporary directory (None: not built)."""
    code_dir = lookup_function_dir()
    if code_dir is None:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="relay-task-") as scratch:
        archive = Path(scratch, "function.zip")
        package_size.write_zip(code_dir, archive)
        task_root = Path(scratch, "task")
        with zipfile.ZipFile(archive) as bundle:
            bundle.extractall(task_root)
        _set_read_only(task_root, read_only=True)  # Lambda's code directory: no bytecode can be written
        try:
            yield task_root
        finally:
            _set_read_only(task_root, read_only=False)


def _set_read_only(top: Path, *, read_only: bool) -> None:
    write_bits = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
    for path in [top, *top.rglob("*")]:
        mode = path.stat().st_mode
        path.chmod(mode & ~write_bits if read_only else mode | stat.S_IWUSR)


def main() -> int:
    """Sizes, then a few alternating cold starts from source and from the unpacked package."""
    from benchmarks import cold_start
    from benchmarks.stack import Stack, endpoint_ids
    from devstack.together_sim import make_endpoint

    sizes = measure()
    print(sizes)
    if not sizes["measured"]:
        return 1
    runs = 5
    ids = endpoint_ids("package", 2 * (runs + 1))
    with Stack().start([make_endpoint(endpoint_id) for endpoint_id in ids]) as stack, unpacked() as task_root:
        result = cold_start.measure(stack, ids, runs, variants=("relay", "relay_package"), package_root=task_root)
    for variant in ("relay", "relay_package"):
        row = result[variant]
        print(
            f"{variant}: spawn to first answer p50 {row['spawn_to_first_answer_ms']['p50']} ms, "
            f"imports/init p50 {row['import_and_init_ms']['p50']} ms, first call p50 {row['first_call_ms']['p50']} ms"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
