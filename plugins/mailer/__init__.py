"""Built-in mailer plugin: offer e-mails through the account's own SMTP server.

Per account: host, port, security (``starttls``, ``tls`` or ``none`` — the last only for a relay
on the same host or network), credentials (the password is a secret, never shown), the From
address and name, how many connections at once and how many mails per second at most. The core
renders the mails and keeps the send ledger; this plugin only talks SMTP (``smtplib``), mapping
4xx answers and dropped connections to "try again later" and 5xx answers to "refused for this
recipient". Registered through the ``marquee.plugins`` entry point, like any third-party plugin.
"""

from __future__ import annotations

import base64
import secrets
import smtplib
import ssl
from collections.abc import Mapping
from email.header import Header
from email.utils import formataddr, formatdate, parseaddr
from typing import Any

from domain.mail.contract import Mail, MailDeferred, Mailer, MailRefused
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
    return Header(value, "utf-8").encode()


def _address(value: str) -> str:
    """``"Name" <address>`` with the name encoded when it is not ASCII."""
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


class SmtpConnection:
    def __init__(self, config: Mapping[str, Any]):
        self.config = config
        self.smtp: smtplib.SMTP | None = None

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
        except smtplib.SMTPAuthenticationError as error:
            raise MailDeferred(f"the SMTP server refused the login: {error.smtp_code} {error.smtp_error!r}") from None
        except (OSError, smtplib.SMTPException) as error:
            raise MailDeferred(f"cannot reach the SMTP server {host}:{port}: {error}") from None
        return smtp

    def send(self, mail: Mail) -> None:
        if self.smtp is None:
            self.smtp = self._open()
        try:
            self.smtp.sendmail(parseaddr(mail.sender)[1], [mail.to], mime_bytes(mail))
        except smtplib.SMTPRecipientsRefused as error:
            code, answer = next(iter(error.recipients.values()))
            raise (MailDeferred if 400 <= code < 500 else MailRefused)(f"{code} {answer!r}") from None
        except smtplib.SMTPResponseException as error:
            self._drop()
            if 400 <= error.smtp_code < 500:
                raise MailDeferred(f"{error.smtp_code} {error.smtp_error!r}") from None
            raise MailRefused(f"{error.smtp_code} {error.smtp_error!r}") from None
        except (OSError, smtplib.SMTPException) as error:
            self._drop()
            raise MailDeferred(f"the SMTP connection failed: {error}") from None

    def _drop(self) -> None:
        smtp, self.smtp = self.smtp, None
        if smtp is not None:
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
