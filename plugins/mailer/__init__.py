"""Built-in mailer plugin: offer e-mails through the account's own SMTP server.

Per account: host, port, security (``starttls``, ``tls`` or ``none`` — the last only for a relay
on the same host or network), credentials (the password is a secret, never shown), the From
address and name, how many connections at once and how many mails per second at most. The core
renders the mails and keeps the send ledger; this plugin only talks SMTP (``smtplib``), mapping
4xx answers and dropped connections to "try again later" and 5xx answers to "refused for this
recipient". Registered through the ``marquee.plugins`` entry point, like any third-party plugin.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formatdate
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
                "default": 4,
                "description": "SMTP connections at once.",
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


def _message(mail: Mail) -> EmailMessage:
    message = EmailMessage()
    message["From"] = mail.sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = mail.message_id
    for name, value in mail.headers:
        message[name] = value
    message.set_content(mail.text)
    message.add_alternative(mail.html, subtype="html")
    return message


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
            self.smtp.send_message(_message(mail))
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
