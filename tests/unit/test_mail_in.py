"""Reply addresses and reading a reply: pure functions, called as the server calls them."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from chatsvc.mail_in.reading import html_to_text, new_text, read_reply
from chatsvc.outbox.replies import MailThread, read_reply_address, reply_address

KEY = b"a test key"
DOMAIN = "replies.example.org"


@pytest.mark.parametrize(
    "thread",
    [MailThread("conversation", 1), MailThread("after_hours", 42), MailThread("request", 10**11)],
)
def test_a_reply_address_names_its_thread_and_verifies(thread: MailThread) -> None:
    address = reply_address(KEY, thread, DOMAIN)
    local = address.partition("@")[0]
    assert len(local) <= 64
    read = read_reply_address(KEY, address, DOMAIN)
    assert read is not None and read.thread == thread and read.verified
    # Mail servers may change the case of a local part or the domain: still ours.
    upper = read_reply_address(KEY, address.upper(), DOMAIN.upper())
    assert upper is not None and upper.verified


def test_a_forged_or_foreign_address_does_not_verify() -> None:
    address = reply_address(KEY, MailThread("conversation", 7), DOMAIN)
    other = read_reply_address(b"another key", address, DOMAIN)
    assert other is not None and not other.verified
    # The same signature on another thread is a forgery too.
    moved = address.replace("reply+c7-", "reply+c8-")
    read = read_reply_address(KEY, moved, DOMAIN)
    assert read is not None and read.thread.id == 8 and not read.verified
    for not_ours in (
        address.replace(DOMAIN, "elsewhere.org"),
        f"csc@{DOMAIN}",
        f"reply+x7-{'a' * 26}@{DOMAIN}",
        f"reply+c0-{'a' * 26}@{DOMAIN}",
        f"reply+c7-{'a' * 25}@{DOMAIN}",
        f"reply+c7-{'1' * 26}@{DOMAIN}",
        "",
        "@",
    ):
        assert read_reply_address(KEY, not_ours, DOMAIN) is None, not_ours


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        (
            "Yes, Monday works.\n\nOn Sun, Nov 29, 2026 at 12:00 PM City <csc@example.org> "
            "wrote:\n> Hello,\n> When?\n",
            "Yes, Monday works.",
        ),
        ("Thanks!\n\n> quoted line\n> another\n", "Thanks!"),
        ("> Which wall?\nThe east one.\n> When?\nToday.", "The east one.\nToday."),
        ("Thanks!\n-- \nAna Ruiz\n555-0100\n", "Thanks!"),
        (
            "Please call me.\n\nFrom: Citizen Service Center <csc@example.org>\n"
            "Sent: Sunday, November 29, 2026 12:00 PM\nTo: Ana\nSubject: Your request\n\nHello",
            "Please call me.",
        ),
        ("Line one\r\n\r\n\r\n\r\nLine two", "Line one\n\nLine two"),
        ("", ""),
        ("x" * 5000, "x" * 4000),
    ],
)
def test_quotes_and_signatures_are_cut(text: str, kept: str) -> None:
    assert new_text(text) == kept


def test_html_becomes_text_without_its_scripts_styles_or_quotes() -> None:
    html = (
        "<html><head><style>p{color:red}</style><title>t</title></head><body>"
        "<p>It is&nbsp;<b>gone</b> &amp; clean</p><script>alert('x')</script>"
        "<img src=x onerror=alert(1)><blockquote>Our old mail</blockquote><div>Ana</div>"
    )
    assert html_to_text(html) == "It is gone & clean\n\nAna"
    assert html_to_text("<p>unclosed <b>tags") == "unclosed tags"
    assert html_to_text("") == ""


def test_a_mail_with_a_broken_charset_and_encoding_is_read_as_well_as_it_can_be() -> None:
    raw = (
        b"From: =?bogus-charset?q?Ana?= <ana@example.com>\r\n"
        b"Subject: =?utf-8?b?broken base64?=\r\n"
        b"Message-ID: <abc@example.com>\r\n"
        b"In-Reply-To: <one@chatsvc>\r\nReferences: <zero@chatsvc> <one@chatsvc>\r\n"
        b"Content-Type: text/plain; charset=no-such-charset\r\n"
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        b"Caf=E9 =ZZ is still closed\r\n"
    )
    reply = read_reply(raw)
    assert reply.from_address == "ana@example.com" and reply.message_id == "<abc@example.com>"
    assert reply.references == ("<one@chatsvc>", "<zero@chatsvc>")
    assert "is still closed" in reply.text and reply.images == ()


def test_a_mail_of_nothing_but_headers_or_garbage_reads_without_raising() -> None:
    for raw in (b"", b"Subject: hi\r\n\r\n"):
        reply = read_reply(raw)
        assert reply.text == "" and reply.images == () and reply.message_id is None
    garbage = read_reply(b"\xff\xfe\x00garbage")
    assert "garbage" in garbage.text and garbage.from_address == ""


def test_images_are_taken_from_attachments_and_inline_parts_only() -> None:
    message = EmailMessage()
    message["From"] = "ana@example.com"
    message.set_content("see photos")
    message.add_attachment(b"png bytes", maintype="image", subtype="png", filename="a.png")
    message.add_attachment(b"%PDF", maintype="application", subtype="pdf", filename="a.pdf")
    reply = read_reply(message.as_bytes())
    assert reply.images == (b"png bytes",) and reply.text == "see photos"
