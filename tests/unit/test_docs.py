"""The documentation stays navigable: a short README, and relative links that lead to a file.

Links must be anchor-free: GitHub derives anchors from headings, so a renamed heading would break a link
silently. Link to the page instead.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = [README, *sorted(DOCS.glob("*.md"))]
README_MAX_LINES = 199  # under 200: what the relay is, the commands, the diagram, the targets, the links

_FENCED_BLOCK = re.compile(r"^[ \t]*(`{3,}|~{3,})[^\n]*\n.*?^[ \t]*\1[ \t]*$", re.MULTILINE | re.DOTALL)
_CODE_SPAN = re.compile(r"`[^`\n]*`")
_INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE_LINK = re.compile(r"^[ ]{0,3}\[[^\]]+\]:[ \t]*<?([^\s>]+)>?", re.MULTILINE)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def relative_links(markdown: str) -> list[str]:
    """Targets of the inline, image and reference links outside code, except those with a scheme (https:, mailto:)."""
    prose = _CODE_SPAN.sub("", _FENCED_BLOCK.sub("", markdown))
    targets = _INLINE_LINK.findall(prose) + _REFERENCE_LINK.findall(prose)
    return [target for target in targets if not _SCHEME.match(target)]


def _name(page: Path) -> str:
    return page.relative_to(ROOT).as_posix()


def test_the_readme_is_under_200_lines() -> None:
    lines = len(README.read_text(encoding="utf-8").splitlines())

    assert lines <= README_MAX_LINES, f"README.md has {lines} lines: move detail into a docs/ page"


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_every_relative_link_is_anchor_free_and_leads_to_a_file_in_the_repository(page: Path) -> None:
    # Given the page's relative links
    links = relative_links(page.read_text(encoding="utf-8"))
    # Then each names a file in this repository, without an anchor
    anchored = [link for link in links if "#" in link]
    broken = [link for link in links if "#" not in link and not _inside_repository(page.parent / link)]
    assert anchored == [], "link to the page, not a heading: anchors break silently when a heading changes"
    assert broken == []


def _inside_repository(target: Path) -> bool:
    resolved = target.resolve()
    return resolved.is_relative_to(ROOT) and resolved.exists()


def test_the_docs_index_links_every_page() -> None:
    index = DOCS / "README.md"
    linked = {(DOCS / link).resolve() for link in relative_links(index.read_text(encoding="utf-8"))}

    assert sorted(_name(page) for page in PAGES[1:] if page != index and page.resolve() not in linked) == []


@pytest.mark.parametrize(
    ("markdown", "links"),
    [
        ("See [the deploy page](docs/deploy.md).", ["docs/deploy.md"]),
        ('![diagram](img/a.png "title") and [x](<b.md>)', ["img/a.png", "b.md"]),
        ("[ref]: ../benchmarks/README.md\n", ["../benchmarks/README.md"]),
        ("[a](docs/x.md#section) and [b](#top)", ["docs/x.md#section", "#top"]),
        ("[web](https://together.ai), [mail](mailto:a@b.c)", []),
        ("```sh\n[not](a-link.md)\n```\n`[nor](this.md)`\n   ```\n[inside](indented.md)\n   ```\n", []),
    ],
    ids=["inline", "image-title-angle", "reference", "anchors-kept-for-the-check", "schemes", "code"],
)
def test_links_are_found_in_prose_only(markdown: str, links: list[str]) -> None:
    assert relative_links(markdown) == links
