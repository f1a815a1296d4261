"""Offer e-mails (SPEC 5.5): a segment looked at for an event or a production, mailed to the
members whose consent is granted at send time, each at most once per action.

The send ledger (``mail_send``) holds one row per (action, person) — the snapshot — and every
mail moves it on: ``pending`` → ``claimed`` (taken by a sender in batches; members without an
address or the consent are ``skipped`` there) → ``sending`` (the consent checked again in the same
statement, and the row committed, at the hand-over) → ``sent`` (committed with the next mail's
hand-over). With a staged connection (SMTP: contract.StagedConnection) the hand-over is recorded
after the message went over and before the final dot: a sender killed before the record leaves a
``claimed`` row the server never accepted (back to ``pending``, sent by the rerun), one killed
after it a ``sending`` row whose mail went over in full (``unknown``, never sent again) — at most
one per connection, and only a kill in the microseconds between the record's commit and the dot's
write leaves a mail unsent. A connection with ``send`` only is recorded before ``send``: what was in
hand at a kill is ``unknown``, perhaps sent. Ledger commits run with ``synchronous_commit = off``: a
killed worker loses nothing (the server has the commit); only a crash of the database server itself
could lose the last fraction of a second of ledger updates.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from domain import clock, events
from domain.actions.models import ActionKind, SegmentAction
from domain.actions.service import Target, start_action, action_of_job, take_snapshot
from domain.errors import Collector, ErrorCode, InputError, not_found
from domain.integrations import service as integrations
from domain.recommendations import picks
from domain.integrations.registry import PluginInfo
from domain.jobs_state import service as jobs_state
from domain.jobs_state.service import JobRefused, Progress
from domain.mail.contract import Mail, MailDeferred, Mailer, MailRefused, MailUnconfirmed, StagedConnection
from domain.mail.links import Links
from domain.mail.models import MailLayout, MailSend
from domain.pagination import Page, cursor_int, keyset_page
from domain.mail.render import Templates, check_layout, check_offer_texts
from domain.people.models import ConsentType

log = logging.getLogger(__name__)

CLAIM_BATCH = 200
ANALYZE_AFTER = 10_000  # ledger rows added at once
MAX_DEFERRALS = 6  # tries of one mail in a row the server turned away before the run gives up (and is retried)
BACKOFF = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)
SLOW_DOWN_SECONDS = 60.0  # after a 4xx, the rate stays halved this long
MAX_NAME = 200


# -- layouts ---------------------------------------------------------------------------------------


def _clean_layout(name: str, html: str, text_: str) -> tuple[str, str, str]:
    problems = Collector()
    name = " ".join((name or "").split())
    if not name:
        problems.add(ErrorCode.REQUIRED, "a layout needs a name", "name")
    elif len(name) > MAX_NAME:
        problems.add(ErrorCode.TOO_LONG, f"name is longer than {MAX_NAME} characters", "name")
    check_layout(html or "", text_ or "", problems)
    problems.raise_if_any()
    return name, html, text_ or ""


def _name_taken(session: Session, account_id: int, name: str, except_id: int | None) -> bool:
    stmt = select(MailLayout.id).where(MailLayout.account_id == account_id, MailLayout.name.ilike(name))  # type: ignore[attr-defined]
    return any(found != except_id for found in session.execute(stmt).scalars())


def create_layout(session: Session, account_id: int, *, name: str, html: str, text_: str = "") -> MailLayout:
    name, html, text_ = _clean_layout(name, html, text_)
    if _name_taken(session, account_id, name, None):
        raise InputError.single(ErrorCode.DUPLICATE, f"a layout is already called {name!r}", "name")
    layout = MailLayout(account_id=account_id, name=name, html=html, text=text_)
    session.add(layout)
    session.flush()
    return layout


def update_layout(
    session: Session, account_id: int, layout_id: int, *, name: str, html: str, text_: str = ""
) -> MailLayout:
    layout = get_layout(session, account_id, layout_id, lock=True)
    if layout is None:
        raise not_found("layout", "id")
    name, html, text_ = _clean_layout(name, html, text_)
    if _name_taken(session, account_id, name, layout_id):
        raise InputError.single(ErrorCode.DUPLICATE, f"a layout is already called {name!r}", "name")
    layout.name, layout.html, layout.text, layout.updated_at = name, html, text_, clock.now()
    session.flush()
    return layout


def delete_layout(session: Session, account_id: int, layout_id: int) -> None:
    """Actions keep a copy of the layout they were started with: deleting one changes no send."""
    layout = get_layout(session, account_id, layout_id, lock=True)
    if layout is None:
        raise not_found("layout", "id")
    session.delete(layout)
    session.flush()


def get_layout(session: Session, account_id: int, layout_id: int, *, lock: bool = False) -> MailLayout | None:
    stmt = select(MailLayout).where(MailLayout.account_id == account_id, MailLayout.id == layout_id)
    return session.execute(stmt.with_for_update() if lock else stmt).scalar_one_or_none()


def list_layouts(session: Session, account_id: int) -> list[MailLayout]:
    return list(
        session.execute(
            select(MailLayout).where(MailLayout.account_id == account_id).order_by(MailLayout.name, MailLayout.id)
        ).scalars()
    )


# -- starting an offer -----------------------------------------------------------------------------


@dataclass(frozen=True)
class OfferSpec:
    layout_id: int
    consent_type_id: int  # the consent a member must have granted when their mail goes
    subject: str
    text: str
    offer_url: str  # the event's or production's page (tracked in the mail)
    mailer: str = "mailer.smtp"
    picks_action_id: int | None = None  # a finished picks action on the segment: each mail shows its picks


def _check_url(url: str, problems: Collector) -> str:
    url = (url or "").strip()
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2000:
        problems.add(ErrorCode.INVALID, "the offer's link is an http(s) URL", "offer_url")
    return url


def start_offer(
    session: Session,
    account_id: int,
    target: Target,
    spec: OfferSpec,
    *,
    mailers: Mapping[str, Mailer],
    infos: Iterable[PluginInfo],
    created_by: int | None = None,
) -> SegmentAction:
    """Queue an offer e-mail to a segment's members for an event or a production."""
    problems = Collector()
    if target.mode is None:
        problems.add(
            ErrorCode.REQUIRED,
            "an offer e-mail is sent for an event or a production: look at the segment in that mode",
            "mode",
        )
    layout = get_layout(session, account_id, spec.layout_id)
    if layout is None:
        problems.add(ErrorCode.NOT_FOUND, "layout not found", "layout_id")
    consent = session.execute(
        select(ConsentType.id).where(ConsentType.account_id == account_id, ConsentType.id == spec.consent_type_id)
    ).scalar_one_or_none()
    if consent is None:
        problems.add(ErrorCode.NOT_FOUND, "consent type not found", "consent_type_id")
    check_offer_texts(spec.subject or "", spec.text or "", problems)
    url = _check_url(spec.offer_url, problems)
    if spec.picks_action_id is not None:
        picks.check_picks_action(session, account_id, spec.picks_action_id, problems, "picks_action_id")
    mailer = mailers.get(spec.mailer)
    if mailer is None:
        known = ", ".join(sorted(mailers)) or "none is registered"
        problems.add(ErrorCode.NOT_FOUND, f"no mailer {spec.mailer!r} (known: {known})", "mailer")
    else:
        integrations.check_enabled(session, account_id, mailer.plugin, problems, "mailer")
    problems.raise_if_any()
    assert layout is not None
    params = {
        "mailer": spec.mailer,
        "consent_type_id": spec.consent_type_id,
        "subject": spec.subject,
        "text": spec.text,
        "offer_url": url,
        "picks_action_id": spec.picks_action_id,
        "layout_id": layout.id,
        "layout_name": layout.name,
        # A copy: a layout edited or deleted meanwhile changes no send under way.
        "layout_html": layout.html,
        "layout_text": layout.text,
    }
    return start_action(session, account_id, ActionKind.OFFER, target, params, created_by)


# -- sending ---------------------------------------------------------------------------------------


class RateLimit:
    """At most ``rate`` sends per second over all threads (0: no limit); halved for a while after
    the server throttled."""

    def __init__(self, rate: int):
        self.rate = max(0, int(rate))
        self.lock = threading.Lock()
        self.next_at = time.monotonic()
        self.slow_until = 0.0

    def slow_down(self) -> None:
        with self.lock:
            self.slow_until = time.monotonic() + SLOW_DOWN_SECONDS

    def take(self) -> None:
        if self.rate == 0:
            return
        with self.lock:
            now = time.monotonic()
            rate = max(1.0, self.rate / 2) if now < self.slow_until else float(self.rate)
            at = max(self.next_at, now)
            self.next_at = at + 1.0 / rate
        if at > now:
            time.sleep(at - now)


@dataclass
class _Offer:
    """What every mail of one action shares."""

    account_id: int
    action_id: int
    consent_type_id: int
    run: str
    templates: Templates
    links: Links
    sender: str
    domain: str
    offer: dict[str, str]
    venue_name: str
    offer_url: str
    timezone: str = "UTC"
    picks_action_id: int | None = None


# A claimed batch: members without an address or the consent are skipped right away; the others'
# addresses and names come back for their mails.
_CLAIM = text(
    """
    UPDATE mail_send m SET
        status = CASE WHEN coalesce(p.email, '') = '' OR c.granted IS NOT TRUE THEN 'skipped' ELSE 'claimed' END,
        reason = CASE WHEN coalesce(p.email, '') = '' THEN 'no_address'
                      WHEN c.granted IS NOT TRUE THEN 'no_consent' END,
        email = p.email, claimed_by = :run, updated_at = now()
      FROM person p
      LEFT JOIN person_consent c
        ON c.account_id = p.account_id AND c.person_id = p.id AND c.consent_type_id = :ct
     WHERE m.account_id = :a AND m.action_id = :act
       AND m.person_id = ANY(ARRAY(
           SELECT person_id FROM mail_send
            WHERE account_id = :a AND action_id = :act AND status = 'pending'
            ORDER BY person_id LIMIT :n FOR UPDATE SKIP LOCKED))
       AND p.account_id = m.account_id AND p.id = m.person_id
    RETURNING m.person_id, m.status, p.email, p.first_name, p.last_name
    """
)
# (The batch is picked by an initplan, ARRAY(…), once, whatever the planner thinks of the
# ledger's size; a join to a LIMIT … FOR UPDATE subquery may rerun it for every ledger row.)

# The hand-over, committed just before the mail system can accept the mail: the consent is checked
# again (a withdrawal after the claim is honoured), and the previous mail is marked sent.
_HAND_OVER = text(
    """
    WITH done AS (
        UPDATE mail_send SET status = 'sent', sent_at = now(), updated_at = now()
         WHERE account_id = :a AND action_id = :act AND person_id = :prev AND status = 'sending'
    ), consent AS (
        SELECT coalesce(bool_or(granted), false) AS granted FROM person_consent
         WHERE account_id = :a AND person_id = :person AND consent_type_id = :ct
    )
    UPDATE mail_send m SET
        status = CASE WHEN consent.granted THEN 'sending' ELSE 'skipped' END,
        reason = CASE WHEN consent.granted THEN m.reason ELSE 'no_consent' END,
        attempts = m.attempts + 1, updated_at = now()
      FROM consent
     WHERE m.account_id = :a AND m.action_id = :act AND m.person_id = :person
       AND m.status = 'claimed' AND m.claimed_by = :run
    RETURNING m.status
    """
)


@dataclass(frozen=True)
class _Claimed:
    person_id: int
    status: str  # claimed, or skipped at the claim
    email: str
    first_name: str | None
    last_name: str | None


class _Ledger:
    """A sender's statements on the ledger, each committed on its own. On a session of its own
    the connection autocommits, so a statement is one round trip (BEGIN and COMMIT took two more,
    most of a mail's database time); a session inside a caller's transaction commits each."""

    def __init__(self, session: Session):
        self.session = session
        self.connection: Connection | None = None
        if isinstance(session.get_bind(), Engine):
            self.connection = session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})

    def run(self, statement, values: Mapping[str, Any]) -> list:
        if self.connection is not None:
            done = self.connection.execute(statement, values)
            return list(done.all()) if done.returns_rows else []
        result = self.session.execute(statement, values)
        rows = list(result.all()) if result.returns_rows else []  # type: ignore[attr-defined]
        self.session.commit()
        return rows


class _Sender:
    """One connection to the mailer and one to the database, sending claimed mails one by one."""

    def __init__(self, offer: _Offer, ledger: _Ledger, mailer: Mailer, config: Mapping[str, Any], limit: RateLimit):
        self.offer, self.ledger, self.limit = offer, ledger, limit
        self.connection = mailer.connect(config)
        self.params = {"a": offer.account_id, "act": offer.action_id, "run": offer.run, "ct": offer.consent_type_id}
        self.sent_pending: int | None = None  # accepted by the mailer; marked sent with the next statement
        self.picks: dict[int, list] = {}  # the claimed members' personal picks, when the offer shows them

    def _run(self, statement, **values) -> list:
        return self.ledger.run(statement, {**self.params, **values})

    def claim(self) -> list[_Claimed]:
        claimed = [_Claimed(*row) for row in self._run(_CLAIM, n=CLAIM_BATCH)]
        if self.offer.picks_action_id is not None and claimed:
            people = [c.person_id for c in claimed]
            rows = self._run(picks.PICKS_OF_MEMBERS, picks=self.offer.picks_action_id, p=people, now=clock.now())
            self.picks = picks.picks_of_rows(rows, people)
        return claimed

    def _picks(self, person_id: int) -> list[dict]:
        zone = ZoneInfo(self.offer.timezone)
        return [
            {
                "title": p.title,
                "starts_at": "" if p.starts_at is None else f"{p.starts_at.astimezone(zone):%d-%m-%Y %H:%M}",
                "venue": p.venue,
                "reasons": list(p.reasons),
            }
            for p in self.picks.get(person_id, ())
        ]

    def flush(self) -> None:
        if self.sent_pending is not None:
            self._run(
                text(
                    "UPDATE mail_send SET status = 'sent', sent_at = now(), updated_at = now() "
                    "WHERE account_id = :a AND action_id = :act AND person_id = :p AND status = 'sending'"
                ),
                p=self.sent_pending,
            )
            self.sent_pending = None

    def _mail(self, person_id: int, email: str, first_name: str | None, last_name: str | None) -> Mail:
        o = self.offer

        def link(url: str) -> str:
            return o.links.click_url(o.account_id, o.action_id, person_id, str(url))

        unsubscribe = o.links.unsubscribe_url(o.account_id, o.action_id, person_id, o.consent_type_id)
        context = {
            "person": {"first_name": first_name or "", "last_name": last_name or "", "email": email},
            "offer": {**o.offer, "url": link(o.offer_url)},
            "venue_name": o.venue_name,
            "unsubscribe_url": unsubscribe,
            "picks": self._picks(person_id),
        }
        subject, html, plain = o.templates.render(context, link)
        pixel = f'<img src="{o.links.open_url(o.account_id, o.action_id, person_id)}" width="1" height="1" alt="">'
        html = html.replace("</body>", pixel + "</body>", 1) if "</body>" in html else html + pixel
        return Mail(
            message_id=f"<offer.{o.action_id}.{person_id}.{o.account_id}@{o.domain}>",
            sender=o.sender,
            to=email,
            subject=subject,
            html=html,
            text=plain,
            headers=(
                ("List-Unsubscribe", f"<{unsubscribe}>"),
                ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
                ("Precedence", "bulk"),
                ("X-Marquee-Action", str(o.action_id)),
            ),
        )

    def _hand_over(self, person_id: int) -> str | None:
        """Record the hand-over (committed); the row's status afterwards, None when it is gone."""
        rows = self._run(_HAND_OVER, prev=self.sent_pending, person=person_id)
        self.sent_pending = None
        return rows[0][0] if rows else None  # gone: erased meanwhile, or no longer this run's

    def send_one(self, claimed: _Claimed) -> str:
        """Hand one claimed person's mail over; returns its status afterwards."""
        if claimed.status != "claimed":
            return claimed.status
        person_id = claimed.person_id
        mail = self._mail(person_id, claimed.email, claimed.first_name, claimed.last_name)
        staged = isinstance(self.connection, StagedConnection)
        for attempt in range(MAX_DEFERRALS):
            self.limit.take()
            try:
                if staged:
                    self.connection.stage(mail)  # type: ignore[attr-defined]
                status = self._hand_over(person_id)
                if status != "sending":
                    if staged:
                        self.connection.cancel()  # type: ignore[attr-defined]
                    return status or "gone"
                if staged:
                    self.connection.complete()  # type: ignore[attr-defined]
                else:
                    self.connection.send(mail)
            except MailRefused as refused:
                self._set(person_id, "failed", str(refused)[:500])
                return "failed"
            except MailUnconfirmed as unconfirmed:
                self._set(person_id, "unknown", str(unconfirmed)[:500])
                return "unknown"
            except MailDeferred as deferred:
                self._set(person_id, "claimed", str(deferred)[:500])  # not accepted: safe to try again
                self.limit.slow_down()
                wait = deferred.retry_after if deferred.retry_after is not None else BACKOFF[attempt]
                log.warning("mail to person %s deferred (%s); again in %.0f s", person_id, deferred, wait)
                time.sleep(min(wait, 60.0))
                continue
            self.sent_pending = person_id
            return "sent"
        raise MailDeferred(f"the mail server kept turning mails away ({MAX_DEFERRALS} tries in a row)")

    def _set(self, person_id: int, status: str, reason: str) -> None:
        self._run(
            text(
                "UPDATE mail_send SET status = :s, reason = :r, updated_at = now() "
                "WHERE account_id = :a AND action_id = :act AND person_id = :p"
            ),
            s=status,
            r=reason,
            p=person_id,
        )

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self.connection.close()


def _prepare(session: Session, action: SegmentAction, run: str) -> dict[str, int]:
    """The ledger for the snapshot, and what a previous run left: ``sending`` rows become
    ``unknown``, ``claimed`` ones go back to ``pending``. Returns the ledger's counts."""
    params = {"a": action.account_id, "act": action.id}
    added = session.execute(
        text(
            "INSERT INTO mail_send (account_id, action_id, person_id) SELECT account_id, action_id, person_id "
            "FROM action_member WHERE account_id = :a AND action_id = :act ORDER BY person_id ON CONFLICT DO NOTHING"
        ),
        params,
    ).rowcount
    if added > ANALYZE_AFTER:  # fresh statistics before thousands of claims and hand-overs read the ledger
        session.execute(text("ANALYZE mail_send"))
    session.execute(
        text(
            "UPDATE mail_send SET status = 'unknown', "
            "reason = 'its sender stopped at the hand-over, before the answer was recorded (perhaps sent)', "
            "updated_at = now() WHERE account_id = :a AND action_id = :act AND status = 'sending'"
        ),
        params,
    )
    session.execute(
        text(
            "UPDATE mail_send SET status = 'pending', claimed_by = NULL, updated_at = now() "
            "WHERE account_id = :a AND action_id = :act AND status = 'claimed'"
        ),
        params,
    )
    return ledger_counts(session, action.account_id, action.id)


def ledger_counts(session: Session, account_id: int, action_id: int) -> dict[str, int]:
    """Rows per status, skipped ones per reason (``skipped_no_consent``, ``skipped_no_address``)."""
    return ledger_counts_by_action(session, account_id, [action_id])[action_id]


def ledger_counts_by_action(session: Session, account_id: int, action_ids: list[int]) -> dict[int, dict[str, int]]:
    """``ledger_counts`` of several actions in one statement (a list of actions shows them all)."""
    empty = {s: 0 for s in ("pending", "claimed", "sending", "sent", "failed", "unknown")}
    empty.update(skipped_no_consent=0, skipped_no_address=0)
    counts = {action_id: dict(empty) for action_id in action_ids}
    rows = session.execute(
        text(
            "SELECT action_id, status, reason, count(*) FROM mail_send "
            "WHERE account_id = :a AND action_id = ANY(CAST(:ids AS bigint[])) GROUP BY action_id, status, reason"
        ),
        {"a": account_id, "ids": list(action_ids)},
    )
    for action_id, status, reason, n in rows:
        key = f"skipped_{reason}" if status == "skipped" else status
        counts[action_id][key] = counts[action_id].get(key, 0) + n
    return counts


def list_sends(
    session: Session,
    account_id: int,
    action_id: int,
    *,
    status: str | None = None,
    first: int | None = None,
    after: str | None = None,
) -> Page[MailSend]:
    """An action's ledger rows (one per member of its snapshot), by person id."""
    keys = [MailSend.person_id]
    stmt = select(MailSend, *keys).where(MailSend.account_id == account_id, MailSend.action_id == action_id)
    if status is not None:
        stmt = stmt.where(MailSend.status == status)
    return keyset_page(
        session, stmt, keys, descending=False, first=first, after=after, coerce=lambda v: [cursor_int(v[0])]
    )


def _offer_context(session: Session, action: SegmentAction) -> tuple[dict[str, str], str, str]:
    row = session.execute(
        text(
            "SELECT a.name, a.timezone, pr.title, e.starts_at, v.name AS venue FROM account a "
            "LEFT JOIN event e ON e.account_id = a.id AND e.id = :event "
            "LEFT JOIN production pr ON pr.account_id = a.id AND pr.id = coalesce(:production, e.production_id) "
            "LEFT JOIN venue v ON v.account_id = a.id AND v.id = e.venue_id WHERE a.id = :a"
        ),
        {"a": action.account_id, "event": action.event_id, "production": action.production_id},
    ).one()
    starts = ""
    if row.starts_at is not None:
        starts = f"{row.starts_at.astimezone(ZoneInfo(row.timezone)):%d-%m-%Y %H:%M}"
    return {"title": row.title or "", "starts_at": starts, "venue": row.venue or ""}, row.name, row.timezone


def run_offer(
    new_session: Callable[[], Session],
    job_id: int,
    *,
    mailers: Mapping[str, Mailer],
    infos: Iterable[PluginInfo],
    links: Links,
    progress: Progress,
    threads: int | None = None,
) -> dict[str, Any]:
    """The send job: ledger, senders, and success once nothing is left to send."""
    run = uuid.uuid4().hex[:16]
    with new_session() as session, session.begin():
        action = action_of_job(session, job_id, lock=True)
        if action.mode == "all" or (action.event_id is None and action.production_id is None):
            raise JobRefused(f"the {action.mode} of this offer was deleted before it was sent")
        members = take_snapshot(session, action)
        before = _prepare(session, action, run)
        params = action.params
        mailer = mailers.get(params["mailer"])
        if mailer is None:
            raise JobRefused(f"no mailer {params['mailer']!r} is registered")
        config = integrations.enabled_config(session, action.account_id, infos, mailer.plugin)
        if config is None:
            raise JobRefused(f"plugin {mailer.plugin!r} is not installed and enabled for this account")
        offer, venue_name, timezone = _offer_context(session, action)
    address = str(config.get(mailer.sender_setting) or "")
    name = str(config.get(mailer.sender_name_setting) or venue_name) if mailer.sender_name_setting else ""
    offer_state = _Offer(
        account_id=action.account_id,
        action_id=action.id,  # type: ignore[arg-type]
        consent_type_id=int(params["consent_type_id"]),
        run=run,
        templates=Templates.compile(
            subject=params["subject"],
            text=params["text"],
            layout_html=params["layout_html"],
            layout_text=params.get("layout_text", ""),
        ),
        links=links,
        sender=f'"{name}" <{address}>' if name else address,
        domain=address.rpartition("@")[2] or "marquee.invalid",
        offer=offer,
        venue_name=venue_name,
        offer_url=params["offer_url"],
        timezone=timezone,
        picks_action_id=params.get("picks_action_id"),
    )
    pool = threads or (int(config.get(mailer.pool_setting) or 1) if mailer.pool_setting else 1)
    limit = RateLimit(int(config.get(mailer.rate_setting) or 0) if mailer.rate_setting else 0)
    handled = [before["sent"] + before["failed"] + before["unknown"] + before["skipped_no_consent"]]
    handled[0] += before["skipped_no_address"]
    lock = threading.Lock()
    failures: list[BaseException] = []
    stop = threading.Event()

    def send_all() -> None:
        with new_session() as session:
            ledger = _Ledger(session)
            ledger.run(text("SET synchronous_commit = off"), {})
            try:
                sender = _Sender(offer_state, ledger, mailer, config, limit)
                try:
                    while not stop.is_set():
                        claimed = sender.claim()
                        if not claimed:
                            return
                        for one in claimed:
                            sender.send_one(one)
                            with lock:
                                handled[0] += 1
                            if stop.is_set():
                                break
                finally:
                    sender.close()
            except BaseException as failure:  # noqa: BLE001  (the run fails with it once the others stopped)
                failures.append(failure)
                stop.set()
            finally:
                with contextlib.suppress(SQLAlchemyError):  # a broken connection is discarded anyway
                    ledger.run(text("RESET synchronous_commit"), {})

    # Threads even for one connection: the caller's thread reports progress meanwhile.
    workers = [threading.Thread(target=send_all, name=f"offer-{action.id}-{n}") for n in range(pool)]
    for worker in workers:
        worker.start()
    while any(w.is_alive() for w in workers):
        for worker in workers:
            worker.join(timeout=0.25)
        progress(min(handled[0] / max(members, 1), 0.99), f"{handled[0]:,} of {members:,} handled")
    if failures:
        raise failures[0]
    with new_session() as session, session.begin():
        counts = ledger_counts(session, action.account_id, action.id)  # type: ignore[arg-type]
        result = {"members": members, "connections": pool, **counts}
        events.record(
            session,
            events.OfferSent(
                account_id=action.account_id,
                action_id=action.id,  # type: ignore[arg-type]
                job_id=job_id,
                segment_id=action.segment_id,
                sent=counts["sent"],
                skipped=counts["skipped_no_consent"] + counts["skipped_no_address"],
                failed=counts["failed"],
                unknown=counts["unknown"],
            ),
        )
        jobs_state.record_success(session, job_id, result)
    return result
