"""What a mail's links do: withdraw the consent (unsubscribe), record a click or an open as an
interaction (once per mail and link: ``interaction.idempotency_key``)."""

from __future__ import annotations

from sqlalchemy import text
from sqlmodel import Session

from domain import clock
from domain.mail.links import LinkData
from domain.people.consents import set_consents
from domain.recommendations.scoring import fold_interactions

UNSUBSCRIBE_SOURCE = "unsubscribe"  # consent history: withdrawn through a mail's unsubscribe link


def _person_exists(session: Session, data: LinkData) -> bool:
    return (
        session.execute(
            text("SELECT 1 FROM person WHERE account_id = :a AND id = :p"), {"a": data.account_id, "p": data.person_id}
        ).first()
        is not None
    )


def consent_name(session: Session, data: LinkData) -> str | None:
    """The consent an unsubscribe link withdraws, by name; None when it or the person is gone."""
    if not _person_exists(session, data):
        return None
    return session.execute(
        text("SELECT name FROM consent_type WHERE account_id = :a AND id = :c"),
        {"a": data.account_id, "c": data.consent_type_id},
    ).scalar_one_or_none()


def unsubscribe(session: Session, data: LinkData) -> str | None:
    """Withdraw the link's consent (source ``unsubscribe``); the consent's name, None when gone.
    Withdrawing twice changes nothing the second time."""
    name = consent_name(session, data)
    if name is None:
        return None
    set_consents(session, data.account_id, data.person_id, {data.consent_type_id: False}, source=UNSUBSCRIBE_SOURCE)  # type: ignore[dict-item]
    return name


def record(session: Session, data: LinkData, kind: str) -> None:
    """A click (with its URL) or an open of the action's mail, once per person, mail and link;
    a new one is folded into the person's scores."""
    key = f"{kind}:{data.action_id}:{data.person_id}" + (f":{data.url}" if data.url else "")
    recorded = session.execute(
        text(
            "INSERT INTO interaction (account_id, person_id, kind, occurred_at, action_id, production_id, "
            "event_id, url, idempotency_key) "
            "SELECT p.account_id, p.id, :kind, :now, s.id, coalesce(s.production_id, e.production_id), s.event_id, "
            ":url, :key FROM person p "
            "LEFT JOIN segment_action s ON s.account_id = p.account_id AND s.id = :act "
            "LEFT JOIN event e ON e.account_id = s.account_id AND e.id = s.event_id "
            "WHERE p.account_id = :a AND p.id = :p AND p.erased_at IS NULL "
            "ON CONFLICT DO NOTHING RETURNING id, production_id"
        ),
        {
            "a": data.account_id,
            "p": data.person_id,
            "act": data.action_id,
            "kind": kind,
            "now": clock.now(),
            "url": data.url,
            "key": key[:2000],
        },
    ).first()
    if recorded is not None and recorded.production_id is not None:
        fold_interactions(session, data.account_id, [recorded.id])
