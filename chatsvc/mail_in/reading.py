"""A resident's reply by email, read: who sent it, what it answers, its new text and its images.

Pure and synchronous (the server runs it off the event loop). What a reply quotes of our mail
and the sender's signature are cut (mail-parser-reply knows the "On … wrote:", "> " and
Outlook "From:" forms of many languages; a "-- " signature is cut here). HTML-only mail is
turned into plain text: tags, scripts and styles go, nothing of it is ever rendered.
"""

from __future__ import annotations

import email.policy
import re
from dataclasses import dataclass
from email.message import EmailMessage, MIMEPart
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser

from mailparser_reply import EmailReplyParser

MAX_TEXT_CHARS = 4000  # a chat message's limit (transport.payloads.MAX_MESSAGE_CHARS)
MAX_IMAGES = 5
MAX_IMAGE_BYTES = 10 * 1024 * 1024  # as an upload (transport.uploads)
MAX_SUBJECT_CHARS = 200
_MESSAGE_ID = re.compile(r"<[^<>\s]{1,198}>")
_SIGNATURE = re.compile(r"^--\s*$", re.MULTILINE)
_BLANK_LINES = re.compile(r"\n{3,}")
_PARSER = EmailReplyParser(languages=["en", "es", "fr", "de"])


@dataclass(frozen=True)
class IncomingReply:
    """What a reply says, read from its bytes."""

    from_name: str
    from_address: str
    subject: str
    message_id: str | None
    references: tuple[str, ...]  # In-Reply-To first, then References, newest first
    text: str  # the new text: quotes and signature cut, at most MAX_TEXT_CHARS
    images: tuple[bytes, ...]  # attached images as sent (the photo pipeline checks them)


def read_reply(raw: bytes) -> IncomingReply:
    """Read a mail's bytes; a broken part is read as well as it can be, never raising."""
    message = BytesParser(policy=email.policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    from_name, from_address = parseaddr(_header(message, "From"))
    message_id = _MESSAGE_ID.search(_header(message, "Message-ID"))
    references = [
        *_MESSAGE_ID.findall(_header(message, "In-Reply-To")),
        *reversed(_MESSAGE_ID.findall(_header(message, "References"))),
    ]
    return IncomingReply(
        from_name=" ".join(from_name.split())[:100],
        from_address=from_address.strip()[:254],
        subject=" ".join(_header(message, "Subject").split())[:MAX_SUBJECT_CHARS],
        message_id=message_id.group() if message_id else None,
        references=tuple(dict.fromkeys(references))[:20],
        text=new_text(_body_text(message)),
        images=_images(message),
    )


def new_text(text: str) -> str:
    """The part of a reply its sender wrote: no quoted mail, no signature."""
    try:
        kept = _PARSER.parse_reply(text=text)
    except Exception:  # the library's regexes on odd input: keep the whole text instead
        kept = text
    kept = _SIGNATURE.split(kept, maxsplit=1)[0]
    # Quoted lines with no "wrote:" above them (answers written between them are kept).
    kept = "\n".join(line for line in kept.splitlines() if not line.lstrip().startswith(">"))
    kept = _BLANK_LINES.sub("\n\n", kept.replace("\r\n", "\n")).strip()
    return kept[:MAX_TEXT_CHARS]


def recipients(values: list[str]) -> list[str]:
    """The addresses of header values like To and Cc."""
    return [address for _, address in getaddresses(values) if address]


def _header(message: EmailMessage, name: str) -> str:
    try:
        value = message.get(name)
    except Exception:  # a header that does not parse: as if it were not there
        return ""
    return str(value) if value is not None else ""


def _body_text(message: EmailMessage) -> str:
    try:
        part = message.get_body(preferencelist=("plain", "html"))
    except Exception:
        part = None
    if part is None:
        return ""
    text = _part_text(part)
    return html_to_text(text) if part.get_content_subtype() == "html" else text


def _part_text(part: MIMEPart) -> str:
    try:
        content = part.get_content()
        if isinstance(content, str):
            return content
    except Exception:  # an unknown charset or a broken transfer encoding
        pass
    payload = part.get_payload(decode=True)
    return payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else ""


def _images(message: EmailMessage) -> tuple[bytes, ...]:
    images: list[bytes] = []
    for part in message.walk():
        if part.get_content_maintype() != "image" or part.is_multipart():
            continue
        data = part.get_payload(decode=True)
        if isinstance(data, bytes) and 0 < len(data) <= MAX_IMAGE_BYTES:
            images.append(data)
        if len(images) == MAX_IMAGES:
            break
    return tuple(images)


class _TextOf(HTMLParser):
    """Collects the text of an HTML document: no script, style or head; blocks on new lines."""

    SKIP = frozenset({"script", "style", "head", "title", "template", "noscript"})
    BLOCKS = frozenset({"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "blockquote"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0
        self.quoting = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self.skipping += 1
        elif tag == "blockquote":  # a quoted mail, in HTML
            self.quoting += 1
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag == "blockquote":
            self.quoting = max(0, self.quoting - 1)
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping and not self.quoting:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """The text of an HTML mail, as plain text (never markup)."""
    parser = _TextOf()
    try:
        parser.feed(html)
        parser.close()
    except Exception:
        pass
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
