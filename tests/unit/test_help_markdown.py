"""The articles' Markdown as the help center's HTML: the widget's subset, and nothing unsafe."""

from __future__ import annotations

from chatsvc.transport.help_markdown import plain_text, render_markdown


def test_paragraphs_lists_bold_links_and_phones() -> None:
    html = render_markdown(
        "Pickup is **by appointment**.\n\n1. Book it\n2. Put items out\n\n"
        "- one\n- two\n\nSee [the page](https://example.org/a) or call (626) 744-7311."
    )
    assert html == (
        "<p>Pickup is <strong>by appointment</strong>.</p>\n"
        "<ol><li>Book it</li><li>Put items out</li></ol>\n"
        "<ul><li>one</li><li>two</li></ul>\n"
        '<p>See <a href="https://example.org/a">the page</a> or call '
        '<a href="tel:+16267447311">(626) 744-7311</a>.</p>'
    )


def test_html_is_text_and_only_safe_links_are_made() -> None:
    html = render_markdown(
        '<script>alert(1)</script> [x](javascript:alert(1)) [y](https://a.b/"onmouseover=1) '
        "https://c.d/e."
    )
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'href="javascript' not in html
    assert 'href="https://a.b/&#34;onmouseover=1"' in html
    assert '<a href="https://c.d/e">https://c.d/e</a>.' in html


def test_plain_text_drops_the_markdown() -> None:
    text = plain_text("**Bold** and [a link](https://x.y/z).\n\n1. First\n2. Second")
    assert text == "Bold and a link. First. Second."
