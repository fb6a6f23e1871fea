"""The Lambda packages `sam build` made: check each one and print its zipped and unzipped size.

Every directory under the build dir that holds the relay's package is a function. Each must carry
bytecode (Lambda cannot write it, so without it every cold start recompiles) and zip to at most the
budget. The zip is made as SAM makes it: a deflate zip of the directory.

Standard library only (run by `make build` with the runtime's python3.13).
Usage: ``python3.13 tools/package_size.py .aws-sam/build [--max-zip-mb 6]``
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "endpoint_relay"
MB = 1_000_000


@dataclass(frozen=True)
class PackageSize:
    function: str
    files: int
    unzipped_bytes: int
    zipped_bytes: int


def function_dirs(build_dir: Path) -> list[Path]:
    """The functions' code directories: every one that holds the relay's package."""
    return sorted(path.parent for path in build_dir.glob(f"*/{PACKAGE}") if path.is_dir())


def write_zip(code_dir: Path, archive: Path) -> None:
    """A deflate zip of ``code_dir``, its files relative to it (as SAM uploads it)."""
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
        for root, dirs, files in os.walk(code_dir):
            dirs.sort()
            for name in sorted(files):
                path = Path(root, name)
                bundle.write(path, path.relative_to(code_dir).as_posix())


def measure(code_dir: Path) -> PackageSize:
    files = [path for path in code_dir.rglob("*") if path.is_file()]
    with tempfile.TemporaryDirectory() as scratch:
        archive = Path(scratch, "package.zip")
        write_zip(code_dir, archive)
        zipped = archive.stat().st_size
    return PackageSize(code_dir.name, len(files), sum(path.stat().st_size for path in files), zipped)


def has_bytecode(code_dir: Path) -> bool:
    return next((code_dir / PACKAGE).rglob("*.pyc"), None) is not None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("build_dir", type=Path)
    parser.add_argument("--max-zip-mb", type=float, default=None, help="fail when a function's zip is larger")
    args = parser.parse_args(argv)
    code_dirs = function_dirs(args.build_dir)
    if not code_dirs:
        print(f"no function with {PACKAGE}/ under {args.build_dir}", file=sys.stderr)
        return 1
    failures: list[str] = []
    for code_dir in code_dirs:
        if not has_bytecode(code_dir):
            failures.append(f"{code_dir.name}: no .pyc files (see src/Makefile)")
        size = measure(code_dir)
        print(
            f"{size.function}: {size.zipped_bytes / MB:.2f} MB zipped, "
            f"{size.unzipped_bytes / MB:.2f} MB unzipped, {size.files} files"
        )
        if args.max_zip_mb is not None and size.zipped_bytes > args.max_zip_mb * MB:
            failures.append(f"{size.function}: zip is over {args.max_zip_mb} MB (see src/Makefile's pruning)")
    for failure in failures:
        print(failure, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
