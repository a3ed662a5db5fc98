"""The Markdown report: complete for a document, and inert when a renderer passes HTML through."""

from __future__ import annotations

import html as html_lib

import pytest
from markdown_it import MarkdownIt

from analyser.models import STAGE_NAMES, Evidence, Platform
from analyser.report_markdown import md_escape, render_markdown
from tests.analyser.test_report_html import HOSTILE, one_brand, parse


def to_html(markdown: str) -> str:
    """CommonMark with raw HTML allowed and GFM tables: the least forgiving common renderer."""
    return MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown)


def test_markdown_has_verdict_ladder_advice_evidence_accounts_coverage() -> None:
    report, _ = one_brand()
    text = render_markdown(report)
    assert text.startswith("# Acme: stage 3, Broadcast-out\n")
    assert "confidence 70%" in text and "plausible range 3–4" in text
    for heading in ("## The seven stages", "## What to do next", "## Why this stage"):
        assert heading in text
    assert "| **→** | **3 Broadcast-out** |" in text
    assert sum(1 for n in STAGE_NAMES.values() if n in text) == 8
    assert "[post](https://example.test/twitter/acme/1)" in text
    assert "javascript" in text and "](javascript" not in text  # unsafe link kept as text
    assert "[@acme](https://example.test/twitter/acme)" in text
    assert "comments\\_disabled\\_share | unknown |" in text  # unknown, not 0
    html = to_html(text)
    doc = parse(html)
    tables = [t for t, _ in doc.elements if t == "table"]
    assert len(tables) == 3  # ladder, evidence, accounts all parse as tables


@pytest.mark.parametrize("where", ["brand", "rationale", "display_name"])
def test_hostile_text_renders_as_text(where: str) -> None:
    report, _ = one_brand(
        brand=HOSTILE if where == "brand" else "Acme",
        text=HOSTILE if where == "rationale" else "fine",
        name=HOSTILE if where == "display_name" else "Acme",
    )
    if where == "display_name":
        platforms = tuple(p.model_copy(update={"display_name": HOSTILE}) for p in report.platforms)
        report = report.model_copy(update={"platforms": platforms})
    text = render_markdown(report)
    doc = parse(to_html(text))
    tags = {t for t, _ in doc.elements}
    assert not tags & {"script", "img", "iframe", "svg", "object"}
    for _, attrs in doc.elements:
        assert not [name for name in attrs if name.startswith("on")]
        assert not (attrs.get("href") or "").lower().startswith("javascript")
    assert "&lt;script&gt;" in to_html(text)


@pytest.mark.parametrize(
    ("raw", "rendered_text"),
    [
        ("**bold** _it_ `code`", "**bold** _it_ `code`"),
        ("[click](javascript:alert(1))", "[click](javascript:alert(1))"),
        ("![x](https://evil.test/x.png)", "![x](https://evil.test/x.png)"),
        ("# not a heading", "# not a heading"),
        ("- not a list", "- not a list"),
        ("1. not a list", "1. not a list"),
        ("a | b", "a | b"),
        ("line one\nline two", "line one line two"),
        ("Tom & Jerry <3", "Tom & Jerry <3"),
        ("\x1b[31mred\x1b[0m", "[31mred [0m"),
    ],
)
def test_md_escape_round_trips_as_plain_text(raw: str, rendered_text: str) -> None:
    html = to_html(md_escape(raw))
    doc = parse(html)
    assert [t for t, _ in doc.elements] == ["p"]  # one paragraph: no heading, list, link, image
    inner = html.removeprefix("<p>").removesuffix("</p>\n")

    assert html_lib.unescape(inner) == rendered_text


def test_pipes_in_a_cell_do_not_split_the_table() -> None:
    report, _ = one_brand()
    odd = Evidence(
        signal="x|y", value="a|b", rule="r", stage=2, platform=Platform.TWITTER, handle="h|i"
    )
    report = report.model_copy(update={"evidence": (odd,)})
    html = to_html(render_markdown(report))
    start = html.index("<h2>Why this stage</h2>")
    section = html[start : html.index("<h2>Accounts</h2>")]
    assert section.count("<td") == 6  # one row, six cells, whatever the pipes in the data
