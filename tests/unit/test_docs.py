"""The README and docs/ are self-contained: every relative link lands inside the repository, on a
file that exists (and on a heading that exists, when it names one), and the README still opens
with the two commands."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# [text](target) and ![alt](target), not inside code; <a href="..."> too.
_LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_HREF = re.compile(r"""<a\s[^>]*href=["']([^"']+)["']""", re.IGNORECASE)
_FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
_CODE = re.compile(r"`[^`\n]*`")


def _links(page: Path) -> list[str]:
    text = _CODE.sub("", _FENCE.sub("", page.read_text(encoding="utf-8")))
    return _LINK.findall(text) + _HREF.findall(text)


def _anchors(page: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    text = _FENCE.sub("", page.read_text(encoding="utf-8"))
    out = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", text, re.MULTILINE):
        plain = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
        slug = "".join(c for c in plain if c in " -_" or unicodedata.category(c)[0] in "LN")
        out.add(slug.replace(" ", "-"))
    return out


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_stay_in_the_repository_and_exist(page: Path) -> None:
    wrong = []
    for link in _links(page):
        parts = urlsplit(link)
        if parts.scheme or parts.netloc:  # http(s), mailto: addresses, not files
            continue
        target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
        if parts.path.startswith("/"):
            wrong.append(f"{link}: an absolute path (give it relative to {page.name})")
        elif not target.is_relative_to(ROOT):
            wrong.append(f"{link}: outside the repository")
        elif not target.exists():
            wrong.append(f"{link}: no such file")
        elif parts.fragment and target.suffix == ".md" and (
                parts.fragment.lower() not in _anchors(target)):
            wrong.append(f"{link}: no heading '#{parts.fragment}' in {target.name}")
    assert not wrong, f"{page.relative_to(ROOT)}:\n" + "\n".join(wrong)


def test_docs_have_an_architecture_page_linked_from_the_readme() -> None:
    assert "docs/architecture.md" in _links(ROOT / "README.md")


def test_readme_starts_with_the_two_commands() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert lines[:3] == ["# gridsvc", "", "```sh"]
    assert lines[3].startswith("make run ") and lines[4].startswith("make test ")
    assert lines[5] == "```"


def test_the_checker_sees_what_it_should(tmp_path: Path) -> None:
    page = tmp_path / "p.md"
    page.write_text("# A title: with `code`\n[a](x.md) ![b](img/y.png) [c](https://e.org) "
                    "`[d](not-a-link.md)`\n```\n[e](fenced.md)\n```\n<a href=\"z.md#q\">z</a>\n",
                    encoding="utf-8")
    assert _links(page) == ["x.md", "img/y.png", "https://e.org", "z.md#q"]
    assert _anchors(page) == {"a-title-with-code"}
