"""The knowledge base's Markdown as safe HTML for the help center's pages.

The same subset the widget renders (widget/src/shared/markdown.js): paragraphs, numbered and
bulleted lists, **bold**, [links](https://…) and bare https:// addresses (http, https, mailto
and tel only) and phone numbers as tel: links. Everything else is text: the article's words
are escaped before any tag is made.
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

ORDERED = re.compile(r"^\s*\d{1,3}[.)]\s+")
BULLET = re.compile(r"^\s*[-*]\s+")
LINK_SCHEMES = ("https://", "http://", "mailto:", "tel:")
INLINE = re.compile(
    r"\*\*(?=\S)(?P<bold>.+?)(?<=\S)\*\*"
    r"|\[(?P<text>[^\[\]\n]+)\]\((?P<url>[^\s()]+)\)"
    r"|(?P<bare>https?://[^\s<>\"'\[\]]+)"
    r"|(?P<phone>\(\d{3}\)\s?\d{3}-\d{4}|\b\d{3}-\d{3}-\d{4}\b|\b(?:911|988|311)\b)"
)
TRAILING_PUNCTUATION = re.compile(r"[.,;:!?)]+$")


def render_markdown(text: str) -> Markup:
    """The article's text as HTML blocks (<p>, <ol>, <ul>)."""
    html: list[str] = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = [line for line in block.splitlines() if line.strip()]
        if not lines:
            continue
        for kind, pattern in (("ol", ORDERED), ("ul", BULLET)):
            if all(pattern.match(line) or line.startswith("  ") for line in lines) and (
                pattern.match(lines[0])
            ):
                items: list[str] = []
                for line in lines:
                    if pattern.match(line):
                        items.append(pattern.sub("", line, count=1))
                    else:
                        items[-1] += " " + line.strip()
                html.append(
                    f"<{kind}>" + "".join(f"<li>{inline(i)}</li>" for i in items) + f"</{kind}>"
                )
                break
        else:
            html.append(f"<p>{inline(' '.join(line.strip() for line in lines))}</p>")
    return Markup("\n".join(html))


def plain_text(text: str) -> str:
    """The article's text without its Markdown (for descriptions and structured data)."""
    text = re.sub(r"\[([^\[\]\n]+)\]\([^\s()]+\)", r"\1", text)
    text = text.replace("**", "")
    lines = []
    for line in text.splitlines():
        item = re.sub(r"^\s*(?:\d{1,3}[.)]|[-*])\s+", "", line)
        if item != line and not re.search(r"[.!?:;,]$", item.rstrip()):
            item = item.rstrip() + "."  # a list's items read as sentences, not one run-on line
        lines.append(item)
    return re.sub(r"\s+", " ", "\n".join(lines)).strip()


def inline(text: str) -> str:
    out: list[str] = []
    at = 0
    for match in INLINE.finditer(text):
        out.append(str(escape(text[at : match.start()])))
        at = match.end()
        if match["bold"] is not None:
            out.append(f"<strong>{escape(match['bold'])}</strong>")
        elif match["text"] is not None:
            url = match["url"]
            label = escape(match["text"])
            out.append(_link(url, label) if url.startswith(LINK_SCHEMES) else str(label))
        elif match["bare"] is not None:
            url = match["bare"]
            trail = TRAILING_PUNCTUATION.search(url)
            tail = trail.group(0) if trail else ""
            url = url[: len(url) - len(tail)]
            out.append(_link(url, escape(url)) + str(escape(tail)))
        else:
            phone = match["phone"]
            digits = re.sub(r"\D", "", phone)
            tel = f"+1{digits}" if len(digits) == 10 else digits
            out.append(_link(f"tel:{tel}", escape(phone)))
    out.append(str(escape(text[at:])))
    return "".join(out)


def _link(url: str, label: Markup) -> str:
    return f'<a href="{escape(url)}">{label}</a>'
