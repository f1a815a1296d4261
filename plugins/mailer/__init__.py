"""Built-in mailer plugin: offer e-mails through the account's own SMTP server.

Per account: host, port, security (``starttls``, ``tls`` or ``none`` — the last only for a relay
on the same host or network), credentials (the password is a secret, never shown), the From
address and name, how many connections at once and how many mails per second at most. The core
renders the mails and keeps the send ledger; this plugin only talks SMTP (``smtplib``), mapping
4xx answers and dropped connections to "try again later" and 5xx answers to "refused for this
recipient", and stopping just short of the final dot until the core has recorded the hand-over.
Registered through the ``marquee.plugins`` entry point, like any third-party plugin.
"""

from __future__ import annotations

import base64
import functools
import re
import secrets
import smtplib
import socket
import ssl
from collections.abc import Mapping
from email.utils import formataddr, formatdate, parseaddr
from typing import Any

from domain.mail.contract import Mail, MailDeferred, Mailer, MailRefused, MailUnconfirmed
from plugins import hookimpl

NAME = "mailer"
TIMEOUT = 30.0


@hookimpl
def register_plugin_info() -> dict:
    return {
        "name": NAME,
        "description": "Sends offer e-mails through your SMTP server (pooled connections, a send rate, backing "
        "off when the server throttles).",
        "version": "1.0",
        "scopes": [],
        "config": [
            {"name": "host", "type": "text", "required": True, "description": "The SMTP server's host name."},
            {"name": "port", "type": "integer", "minimum": 1, "maximum": 65535, "default": 587},
            {
                "name": "security",
                "type": "choice",
                "choices": ["starttls", "tls", "none"],
                "default": "starttls",
                "description": "starttls (port 587), tls (port 465), or none (a relay on your own network only).",
            },
            {"name": "username", "type": "text", "description": "Login name; leave empty when no login is needed."},
            {"name": "password", "type": "text", "secret": True, "description": "Login password (never shown)."},
            {
                "name": "from_address",
                "type": "text",
                "required": True,
                "description": "The From address; its domain should have SPF, DKIM and DMARC for this server.",
            },
            {"name": "from_name", "type": "text", "description": "The name shown with the From address."},
            {
                "name": "connections",
                "type": "integer",
                "minimum": 1,
                "maximum": 20,
                "default": 8,
                "description": "SMTP connections at once (each waits on the server's answers: more of them send "
                "faster, up to what the server allows).",
            },
            {
                "name": "rate_per_second",
                "type": "integer",
                "minimum": 0,
                "maximum": 5000,
                "default": 500,
                "description": "Mails per second at most, all connections together (0: as fast as the server takes "
                "them). Halved for a while whenever the server answers 4xx.",
            },
        ],
    }


def _header(value: str) -> str:
    """A header value on one line: CR and LF dropped (no header injection), non-ASCII text as
    RFC 2047 encoded words."""
    value = " ".join(value.replace("\r", " ").replace("\n", " ").split())
    if value.isascii():
        return value
    return _encoded_words(value)


WORD_BYTES = 45  # UTF-8 bytes per encoded word: 60 base64 characters, 72 with the frame (≤ 75)


def _encoded_words(value: str) -> str:
    """RFC 2047 base64 encoded words, folded, each holding whole characters. (``email.header``'s
    ``Header.encode`` gives the same and took a sixth of a send's CPU time: bench offer-email.)"""
    raw, words, start = value.encode("utf-8"), [], 0
    while start < len(raw):
        end = min(start + WORD_BYTES, len(raw))
        while end < len(raw) and raw[end] & 0xC0 == 0x80:  # not inside a character
            end -= 1
        words.append(f"=?utf-8?b?{base64.b64encode(raw[start:end]).decode('ascii')}?=")
        start = end
    return "\r\n ".join(words)


@functools.lru_cache(maxsize=64)
def _address(value: str) -> str:
    """``"Name" <address>`` with the name encoded when it is not ASCII (the same few senders:
    cached); a bare address as it is."""
    if "<" not in value and '"' not in value and "," not in value:
        return value.strip()
    name, address = parseaddr(value)
    return formataddr((name, address), charset="utf-8") if name else address


def _body(content: str) -> bytes:
    return base64.encodebytes(content.encode("utf-8")).replace(b"\n", b"\r\n")


def mime_bytes(mail: Mail) -> bytes:
    """The message as sent: multipart/alternative (plain text, then HTML), UTF-8, base64 parts.

    Written directly rather than through ``email.message``: its generator took ~1.5 ms per
    message, most of a send's CPU time (bench: offer-email)."""
    boundary = f"=_marquee_{secrets.token_hex(12)}"
    headers = [
        ("From", _address(mail.sender)),
        ("To", _address(mail.to)),
        ("Subject", _header(mail.subject)),
        ("Date", formatdate(localtime=False)),
        ("Message-ID", _header(mail.message_id)),
        ("MIME-Version", "1.0"),
        *((name, _header(value)) for name, value in mail.headers),
        ("Content-Type", f'multipart/alternative; boundary="{boundary}"'),
    ]
    head = "".join(f"{name}: {value}\r\n" for name, value in headers).encode("ascii")
    part = "--{b}\r\nContent-Type: text/{kind}; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    return b"".join(
        [
            head,
            b"\r\n",
            part.format(b=boundary, kind="plain").encode(),
            _body(mail.text),
            part.format(b=boundary, kind="html").encode(),
            _body(mail.html),
            f"--{boundary}--\r\n".encode(),
        ]
    )


def _quote_dots(message: bytes) -> bytes:
    """DATA's transparency rule (RFC 5321 4.5.2): a line starting with a dot gets another."""
    quoted = _LEADING_DOT.sub(b"..", message)
    return quoted if quoted.endswith(b"\r\n") else quoted + b"\r\n"


_LEADING_DOT = re.compile(rb"(?m)^\.")


def _answer(code: int, answer: bytes) -> str:
    return f"{code} {answer.decode('utf-8', 'replace')}"


class SmtpConnection:
    """One SMTP connection, opened on first use. Sends in two steps (``StagedConnection``): the
    envelope, DATA and the message, then — once the core has recorded the hand-over — the final
    dot and the server's answer."""

    def __init__(self, config: Mapping[str, Any]):
        self.config = config
        self.smtp: smtplib.SMTP | None = None
        self.staged = False  # inside DATA, the final dot not written yet

    def _open(self) -> smtplib.SMTP:
        host, port = str(self.config["host"]), int(self.config.get("port") or 587)
        security = self.config.get("security") or "starttls"
        try:
            if security == "tls":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=TIMEOUT, context=ssl.create_default_context())
            else:
                smtp = smtplib.SMTP(host, port, timeout=TIMEOUT)
                if security == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
            if self.config.get("username"):
                smtp.login(str(self.config["username"]), str(self.config.get("password") or ""))
            smtp.ehlo_or_helo_if_needed()
            # The final dot is a write of its own right after the message: without this, Nagle's
            # algorithm holds it until the server acknowledges the message (up to 40 ms).
            smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except smtplib.SMTPAuthenticationError as error:
            raise MailDeferred(f"the SMTP server refused the login: {error.smtp_code} {error.smtp_error!r}") from None
        except (OSError, smtplib.SMTPException) as error:
            raise MailDeferred(f"cannot reach the SMTP server {host}:{port}: {error}") from None
        return smtp

    def _refusal(self, code: int, answer: bytes, when: str) -> Exception:
        """The exception for a refusing answer; the transaction is reset (or the connection
        dropped) so that the next mail starts clean."""
        if code == 421 or code < 400:
            self._drop()
        else:
            try:
                self.smtp.rset()  # type: ignore[union-attr]
            except (OSError, smtplib.SMTPException):
                self._drop()
        kind = MailDeferred if code < 500 else MailRefused
        return kind(f"{_answer(code, answer)} (the answer to {when})")

    def stage(self, mail: Mail) -> None:
        if self.smtp is None:
            self.smtp = self._open()
        smtp = self.smtp
        message = _quote_dots(mime_bytes(mail))
        options = [f"size={len(message)}"] if smtp.has_extn("size") else []
        try:
            code, answer = smtp.mail(parseaddr(mail.sender)[1], options)
            if code != 250:
                raise self._refusal(code, answer, "MAIL FROM")
            code, answer = smtp.rcpt(mail.to)
            if code not in (250, 251):
                raise self._refusal(code, answer, "RCPT TO")
            code, answer = smtp.docmd("DATA")
            if code != 354:
                raise self._refusal(code, answer, "DATA")
            self.staged = True
            smtp.send(message)
        except (OSError, smtplib.SMTPException) as error:
            self._drop()  # without the final dot the server keeps nothing
            raise MailDeferred(f"the SMTP connection failed: {error}") from None

    def complete(self) -> None:
        smtp = self.smtp
        if smtp is None or not self.staged:
            raise RuntimeError("complete() without a staged mail")
        try:
            smtp.send(b".\r\n")
            self.staged = False
            code, answer = smtp.getreply()
        except (OSError, smtplib.SMTPException) as error:
            self._drop()
            raise MailUnconfirmed(f"the SMTP connection failed after the mail went over: {error}") from None
        if code != 250:
            raise self._refusal(code, answer, "the message")

    def cancel(self) -> None:
        self._drop()  # closing inside DATA: the server discards the unfinished message

    def send(self, mail: Mail) -> None:
        self.stage(mail)
        self.complete()

    def _drop(self) -> None:
        smtp, self.smtp = self.smtp, None
        staged, self.staged = self.staged, False
        if smtp is None:
            return
        if staged:  # QUIT would be read as part of the message: just close
            smtp.close()
            return
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()

    def close(self) -> None:
        self._drop()


@hookimpl
def register_mailers() -> list[Mailer]:
    return [
        Mailer(
            plugin=NAME,
            name="mailer.smtp",
            connect=SmtpConnection,
            description="Sends through the account's SMTP server.",
        )
    ]
