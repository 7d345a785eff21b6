"""Markdown rendering: the features coordinators use, and no way to smuggle script through."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from wiki.markup import ALLOWED_PROTOCOLS, ALLOWED_TAGS, mark_missing_links, render_markdown, slugify

PAYLOADS = [
    line.replace("\\n", "\n")
    for line in (Path(__file__).parent / "data" / "xss_payloads.txt").read_text().splitlines()
    if line and not line.startswith("#")
]
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "background", "poster", "xlink:href", "data", "srcset"}
CONTROL = re.compile(r"[\x00-\x20\x7f]+")


class TagCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))

    handle_startendtag = handle_starttag


def assert_safe(output: str) -> None:
    collector = TagCollector()
    collector.feed(output)
    for tag, attrs in collector.tags:
        assert tag in ALLOWED_TAGS, f"tag <{tag}> survived: {output!r}"
        for name, value in attrs:
            assert not name.startswith("on"), f"event handler {name} survived: {output!r}"
            assert name not in {"style", "srcdoc", "formaction"}, f"{name} survived: {output!r}"
            if name in URL_ATTRIBUTES and value:
                # HTMLParser already decoded the entities once, exactly as a browser does.
                cleaned = CONTROL.sub("", value).lower()
                scheme = urlsplit(cleaned).scheme
                assert scheme in ALLOWED_PROTOCOLS | {""}, f"{name}={value!r} survived: {output!r}"
            if name == "class":
                assert not {"flash", "error", "notice"} & set(value.split()), output
            if name == "id":
                assert value.startswith(("h-", "fn:", "fnref")), output
    # Text can mention "<script>" but only escaped, never as markup.
    assert "<script" not in output.lower()


def test_corpus_is_large_enough():
    assert len(PAYLOADS) >= 50


@pytest.mark.parametrize("payload", PAYLOADS, ids=[f"xss{i:02d}" for i in range(len(PAYLOADS))])
def test_no_xss_payload_survives(payload: str):
    assert_safe(render_markdown(payload, link_base="/c/quake/wiki/").html)


@pytest.mark.parametrize("payload", PAYLOADS[:20], ids=[f"red{i:02d}" for i in range(20)])
def test_red_link_marking_keeps_output_safe(payload: str):
    rendered = render_markdown(f"[[{payload}]] and {payload}", link_base="/c/quake/wiki/")
    assert_safe(mark_missing_links(rendered.html, set(), lambda slug: "/c/quake/new?title=" + slug))


def test_tables_fenced_code_toc_and_footnotes():
    text = (
        "[TOC]\n\n# Key figures\n\n| Figure | People |\n| --- | ---: |\n| Displaced | 1,000 |\n\n"
        "```python\nprint('hi')\n```\n\nA claim.[^src]\n\n[^src]: Shelter cluster."
    )
    out = render_markdown(text).html
    assert "<table>" in out and '<td align="right">1,000</td>' in out
    assert '<code class="language-python">' in out
    assert 'class="toc"' in out and 'href="#h-key-figures"' in out and 'id="h-key-figures"' in out
    assert 'class="footnote"' in out and "Shelter cluster." in out


def test_wiki_links_with_and_without_label():
    rendered = render_markdown("See [[Key figures]] and [[Contacts|the contact list]].", link_base="/c/quake/wiki/")
    assert (
        '<a class="wikilink" data-wikilink="Key_figures" href="/c/quake/wiki/Key_figures">Key figures</a>'
        in rendered.html
    )
    assert ">the contact list</a>" in rendered.html
    assert rendered.links == ("Key_figures", "Contacts")


def test_missing_pages_become_red_create_links():
    rendered = render_markdown("[[Key figures]] [[Logistics cluster]]", link_base="/c/quake/wiki/")
    out = mark_missing_links(rendered.html, {"Key_figures"}, lambda slug: f"/c/quake/new?title={slug}")
    assert 'class="wikilink" data-wikilink="Key_figures" href="/c/quake/wiki/Key_figures"' in out
    assert 'class="wikilink new" data-wikilink="Logistics_cluster" href="/c/quake/new?title=Logistics_cluster"' in out


def test_raw_html_that_is_harmless_is_kept():
    out = render_markdown("<details><summary>More</summary>Text <kbd>Ctrl</kbd></details>").html
    assert "<details><summary>More</summary>" in out and "<kbd>Ctrl</kbd>" in out


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Situation Report No. 1", "Situation_Report_No._1"),
        ("Léogâne  health", "Léogâne_health"),
        ("مخيمات النازحين", "مخيمات_النازحين"),
        ("a/b?c#d", "abcd"),
    ],
)
def test_slugs_keep_letters_of_any_script(title: str, slug: str):
    assert slugify(title) == slug
