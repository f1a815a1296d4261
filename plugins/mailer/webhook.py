"""Built-in audience pusher: a segment's members POSTed in batches to a URL of the account's
choosing (an e-mail platform's import endpoint, a CRM, a small bridge script), signed the Standard
Webhooks way like the website push (``webhook-id`` stays the same for every retry of a batch: the
receiver's idempotency key; ``webhook-timestamp``; ``webhook-signature``). Each batch is tried a
few times with waits (``Retry-After`` honoured); a batch that is still refused fails the job,
which is retried with backoff and sends only the batches not yet delivered.

A plugin of its own (``audience_webhook``), registered through the ``marquee.plugins`` entry point.
"""

from __future__ import annotations

from domain.mail.audiences import AudienceBatch, AudiencePusher
from domain.webhooks.delivery import deliver
from plugins import hookimpl

NAME = "audience_webhook"


@hookimpl
def register_plugin_info() -> dict:
    return {
        "name": NAME,
        "description": "Pushes a segment's members in batches of 100 to your URL, signed the Standard Webhooks way.",
        "version": "1.0",
        "scopes": [],
        "config": [
            {
                "name": "push_url",
                "type": "url",
                "required": True,
                "description": "Where each batch is POSTed (application/json: type, action_id, segment, mode, batch, "
                "batches, members).",
            },
            {
                "name": "signing_secret",
                "type": "signing_secret",
                "description": "The Standard Webhooks secret (whsec_…) the receiver verifies with; generated when "
                "not given and shown once.",
            },
        ],
    }


def push(batch: AudienceBatch) -> dict:
    delivery = deliver(
        batch.config["push_url"],
        batch.config["signing_secret"],
        batch.message_id,
        batch.body,
        private_targets=batch.private_targets,
    )
    return {"status": delivery.status, "attempts": delivery.attempts}


@hookimpl
def register_audience_pushers() -> list[AudiencePusher]:
    return [
        AudiencePusher(
            plugin=NAME,
            name="audience.webhook",
            push=push,
            description="POSTs batches of members to push_url, signed (webhook-id, -timestamp, -signature).",
        )
    ]
