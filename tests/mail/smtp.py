"""A real SMTP server on loopback (aiosmtpd) that keeps what it accepts, and can throttle (4xx)
or refuse (5xx) chosen recipients."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage

from aiosmtpd.controller import Controller


@dataclass
class Sink:
    messages: list[EmailMessage] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)  # 550 for these recipients
    throttle_first: int = 0  # 451 for the first N RCPTs
    delay: float = 0.0  # seconds per accepted message
    lock: threading.Lock = field(default_factory=threading.Lock)
    throttled: int = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with self.lock:
            if self.throttled < self.throttle_first:
                self.throttled += 1
                return "451 4.7.1 Slow down, please"
        if address.lower() in self.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            time.sleep(self.delay)  # the server's own pace (blocks its loop, like a slow relay)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(message)  # type: ignore[arg-type]
        return "250 OK"

    def to(self) -> list[str]:
        with self.lock:
            return [str(m["To"]) for m in self.messages]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpServer:
    def __init__(self, sink: Sink | None = None):
        self.sink = sink or Sink()
        self.port = free_port()
        self.controller = Controller(self.sink, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()

    def config(self, **extra) -> dict:
        """The mailer plugin's settings for this server."""
        return {
            "host": "127.0.0.1",
            "port": self.port,
            "security": "none",
            "from_address": "theater@example.nl",
            "from_name": "Stadsschouwburg",
            **extra,
        }
