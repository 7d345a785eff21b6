"""Markdown to sanitised HTML, computed once per revision and stored on it.

python-markdown renders (tables, fenced code, table of contents, footnotes, wiki links), then
bleach cleans the result against an allowlist, so whatever a person types, raw HTML included,
cannot put script, event handlers, styles or dangerous URLs into a page.
"""

from __future__ import annotations

import re
import unicodedata
import xml.etree.ElementTree as etree
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import bleach
import markdown
from flask_babel import gettext
from markdown.extensions import Extension
from markdown.inlinepatterns import InlineProcessor
from markupsafe import escape

ALLOWED_TAGS = frozenset(
    {
        "a",
        "abbr",
        "b",
        "blockquote",
        "br",
        "caption",
        "code",
        "dd",
        "del",
        "details",
        "div",
        "dl",
        "dt",
        "em",
        "figcaption",
        "figure",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "i",
        "img",
        "ins",
        "kbd",
        "li",
        "mark",
        "ol",
        "p",
        "pre",
        "s",
        "small",
        "span",
        "strong",
        "sub",
        "summary",
        "sup",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "ul",
    }
)
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto", "tel"})
# Classes that our own Markdown extensions emit; anything else is dropped so user HTML cannot
# borrow the interface's classes (a fake login box, a hidden overlay).
_CLASS_OK = re.compile(
    r"^(wikilink|new|toc|footnote|footnote-ref|footnote-backref|language-[\w+-]{1,30}|crisiswiki-map|map-error)$"
)
# Ids only from the table of contents ("h-...") and footnotes: no clobbering of the page's own ids.
_ID_OK = re.compile(r"^(h-[\w-]{1,100}|fn:[\w-]{1,40}|fnref\d*:[\w-]{1,40})$")
_ALIGN_OK = {"left", "right", "center"}


def _attribute_allowed(tag: str, name: str, value: str) -> bool:
    if name == "class":
        return all(_CLASS_OK.match(part) for part in value.split())
    if name == "id":
        return bool(_ID_OK.match(value))
    if name == "title":
        return True
    if tag == "a":
        return name in {"href", "data-wikilink", "rel"}
    if tag == "img":
        return name in {"src", "alt", "width", "height"}
    if tag in {"td", "th"}:
        return (name == "align" and value in _ALIGN_OK) or name in {"colspan", "rowspan"}
    if tag == "ol":
        return name == "start"
    if tag == "div":
        return name.startswith("data-map-")
    return False


_cleaner = bleach.Cleaner(
    tags=ALLOWED_TAGS, attributes=_attribute_allowed, protocols=ALLOWED_PROTOCOLS, strip=True, strip_comments=True
)

_UNSAFE_SLUG_CHARS = re.compile(r"[#<>\[\]|{}/?%\\\"'`&+;=\x00-\x1f\x7f]")


def slugify(title: str) -> str:
    """A page title as a URL path segment, MediaWiki-style: spaces become underscores, characters
    that would break a URL are dropped, letters of any script are kept."""
    title = unicodedata.normalize("NFC", title)
    title = _UNSAFE_SLUG_CHARS.sub("", title)
    title = "_".join(title.split())
    return title.strip("_.")[:200]


def heading_id(value: str, separator: str) -> str:
    """Ids for headings (table of contents), prefixed so they cannot clash with the page's."""
    ascii_only = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^\w\s-]", "", ascii_only).strip().lower()
    return "h-" + (re.sub(r"[\s-]+", separator, slug) or "section")


WIKILINK_RE = r"\[\[([^\]\|\n]{1,200})(?:\|([^\]\n]{1,200}))?\]\]"


class _WikiLinkProcessor(InlineProcessor):
    def __init__(self, pattern: str, md: markdown.Markdown, link_base: str) -> None:
        super().__init__(pattern, md)
        self.link_base = link_base

    def handleMatch(self, m: re.Match, data: str):  # noqa: N802 (markdown's API)
        target = m.group(1).strip()
        slug = slugify(target)
        if not slug:
            return None, None, None
        label = (m.group(2) or target).strip()
        anchor = etree.Element("a")
        anchor.set("class", "wikilink")
        anchor.set("href", self.link_base + slug)
        anchor.set("data-wikilink", slug)
        anchor.text = label
        return anchor, m.start(0), m.end(0)


class WikiLinkExtension(Extension):
    def __init__(self, link_base: str = "", **kwargs) -> None:
        self.link_base = link_base
        super().__init__(**kwargs)

    def extendMarkdown(self, md: markdown.Markdown) -> None:  # noqa: N802 (markdown's API)
        # Priority above links (160) so "[[a|b]]" is never read as a Markdown reference link.
        md.inlinePatterns.register(_WikiLinkProcessor(WIKILINK_RE, md, self.link_base), "crisiswiki_wikilink", 175)


# Plugins and core features may add block extensions (e.g. the map embed) here.
EXTRA_EXTENSIONS: list[Callable[[], Extension]] = []


@dataclass(frozen=True)
class Rendered:
    html: str
    links: tuple[str, ...]  # slugs of the wiki links, in order of first appearance


def render_markdown(text: str, link_base: str = "") -> Rendered:
    """Render Markdown to sanitised HTML and list its wiki links."""
    md = markdown.Markdown(
        extensions=[
            "tables",
            "fenced_code",
            "footnotes",
            "sane_lists",
            "def_list",
            "abbr",
            "toc",
            WikiLinkExtension(link_base=link_base),
            *(factory() for factory in EXTRA_EXTENSIONS),
        ],
        extension_configs={
            "tables": {"use_align_attribute": True},
            "toc": {"slugify": heading_id},
        },
        output_format="html",
    )
    html = sanitise_html(md.convert(text))
    return Rendered(html=html, links=tuple(dict.fromkeys(extract_wikilinks(html))))


def sanitise_html(html: str) -> str:
    return _cleaner.clean(html)


# The exact form bleach serialises our wiki links in (attributes sorted by name).
_WIKILINK_ANCHOR = re.compile(r'<a class="wikilink" data-wikilink="([^"]*)" href="([^"]*)">')


def extract_wikilinks(html: str) -> Iterable[str]:
    return (bleach_unescape(m.group(1)) for m in _WIKILINK_ANCHOR.finditer(html))


def bleach_unescape(value: str) -> str:
    return value.replace("&amp;", "&").replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">")


def mark_missing_links(html: str, existing: set[str], create_url: Callable[[str], str]) -> str:
    """Turn wiki links to pages that do not exist into red "create" links.

    Done at view time on the cached HTML (a cheap substitution), because whether a target
    exists changes after the revision was rendered."""
    title = escape(gettext("This page does not exist yet: create it"))

    def swap(m: re.Match) -> str:
        slug = bleach_unescape(m.group(1))
        if slug in existing:
            return m.group(0)
        href = escape(create_url(slug))
        return f'<a class="wikilink new" data-wikilink="{m.group(1)}" href="{href}" title="{title}">'

    return _WIKILINK_ANCHOR.sub(swap, html)
