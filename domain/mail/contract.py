"""What a mailer is: a plugin's way of handing offer e-mails to a mail system.

A plugin contributes mailers through the ``register_mailers`` hook. The core renders each mail
(:class:`Mail`, with its stable ``message_id`` and the unsubscribe headers), decides who gets one
(consent at send time, the send ledger) and paces the sending; a mailer only delivers. ``connect``
opens one connection from the installation's settings; the core opens up to ``connections`` of
them (``pool_setting``) and calls ``send`` on each from one thread at a time. ``send`` returns once
the mail system accepted the mail, raises :class:`MailDeferred` for a temporary refusal (SMTP 4xx,
throttling, a dropped connection before the mail was handed over in full: the core backs off and
tries again), :class:`MailRefused` for a permanent one for this recipient (SMTP 5xx: recorded as
failed, never retried) and :class:`MailUnconfirmed` when the mail went over in full but no answer
came (perhaps accepted: recorded as unknown, never sent again).

A connection that can stop just short of the point where the mail system accepts a mail (SMTP:
everything but the final dot of DATA) also offers :class:`StagedConnection`'s ``stage``,
``complete`` and ``cancel``. The core then records the hand-over in the ledger *between* ``stage``
and ``complete``: a worker killed before that record leaves a mail the server never accepted (sent
again by the rerun), one killed after it a mail that went over in full (never sent again). Only the
microseconds between the record's commit and the final write stay uncertain, instead of the whole
SMTP exchange.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

SEND_JOB = "send_offer"  # the job kind that sends one offer action


@dataclass(frozen=True)
class Mail:
    message_id: str  # "<…@…>", the same for every attempt at this person's mail of this action
    sender: str  # "Name <address>"
    to: str
    subject: str
    html: str
    text: str
    headers: tuple[tuple[str, str], ...] = ()  # List-Unsubscribe, List-Unsubscribe-Post, …


class MailDeferred(Exception):
    """Not accepted now; try again later (``retry_after`` seconds when the server said)."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class MailRefused(Exception):
    """Refused for good for this recipient."""


class MailUnconfirmed(Exception):
    """Handed over in full, but the answer never came (the connection dropped): perhaps accepted."""


class MailConnection(Protocol):
    def send(self, mail: Mail) -> None: ...

    def close(self) -> None: ...


@runtime_checkable
class StagedConnection(MailConnection, Protocol):
    def stage(self, mail: Mail) -> None:
        """Everything short of the mail system accepting ``mail``; raises like ``send``."""

    def complete(self) -> None:
        """The last step of the staged mail: returns once accepted; raises like ``send``."""

    def cancel(self) -> None:
        """Abandon the staged mail so that the mail system never accepts it."""


@dataclass(frozen=True)
class Mailer:
    plugin: str  # whose per-account installation configures and enables the mailer
    name: str  # unique, e.g. "mailer.smtp"
    connect: Callable[[Mapping[str, Any]], MailConnection]  # the installation's settings (secrets included)
    description: str = ""
    sender_setting: str = "from_address"  # the setting holding the From address
    sender_name_setting: str | None = "from_name"
    rate_setting: str | None = "rate_per_second"  # an integer setting: mails per second at most (0: no limit)
    pool_setting: str | None = "connections"  # an integer setting: connections at once
