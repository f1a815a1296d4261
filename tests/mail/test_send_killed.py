"""A worker killed (SIGKILL, its whole process group) in the middle of an offer e-mail to
thousands of members, then started again: every consenting member ends with one mail, nobody with
two. At most one mail per connection is left "unknown": it went over in full just before the kill
and the server's answer was never recorded. Only a kill between the hand-over's commit and the
final dot's write (a fraction of a millisecond per mail) leaves such a mail unsent; it stays
"unknown" for staff to see, never sent twice."""

from __future__ import annotations

import time
import uuid
from collections import Counter

from sqlalchemy import text
from sqlmodel import Session

from domain.accounts import service as accounts
from domain.actions.service import Target
from domain.integrations import service as integrations
from domain.mail import offers
from domain.people.models import ConsentType
from domain.segments import service as segments
from tests import factories as f
from tests.mail.smtp import Sink, SmtpServer
from tests.workers import kill, running_worker, worker_env
from tests.test_jobs import _settled, _wait_for, broker, jobs_runtime  # noqa: F401  (fixtures)

MEMBERS = 3000
CONNECTIONS = 2


def _venue(engine, infos, mailers, smtp: SmtpServer) -> tuple[int, int]:
    """An account with MEMBERS consenting persons (and 200 without consent); (account, job) of an
    offer to all of them, not yet queued."""
    with Session(engine) as s:
        account = accounts.create_account(s, name=f"Verzending {uuid.uuid4().hex[:6]}")
        consent = ConsentType(account_id=account.id, key="offers", name="Aanbiedingen")
        s.add(consent)
        s.flush()
        s.execute(
            text(
                "INSERT INTO person (account_id, email, first_name) SELECT :a, 'lid' || n || '@example.nl', 'Lid' || n "
                "FROM generate_series(1, :n) AS n"
            ),
            {"a": account.id, "n": MEMBERS + 200},
        )
        s.execute(
            text(
                "INSERT INTO person_consent (account_id, person_id, consent_type_id, granted, granted_at, source) "
                "SELECT :a, id, :c, true, now(), 'person' FROM person WHERE account_id = :a ORDER BY id LIMIT :n"
            ),
            {"a": account.id, "c": consent.id, "n": MEMBERS},
        )
        event = f.event(s, account.id, f.production(s, account.id, "Het Offer").id, f.venue(s, account.id).id)
        segment = segments.create_segment(s, account.id, name="Iedereen", rules={"all": []})
        info = integrations.find_plugin(infos, "mailer")
        integrations.install_plugin(
            s,
            account.id,
            info,
            integrations.PluginSetup(config=smtp.config(connections=CONNECTIONS, rate_per_second=0)),
        )
        layout = offers.create_layout(
            s, account.id, name="Basis", html='{{ content }} <a href="{{ unsubscribe_url }}">Afmelden</a>'
        )
        action = offers.start_offer(
            s,
            account.id,
            Target(segment.id, ("event", event.id)),
            offers.OfferSpec(
                layout_id=layout.id,  # type: ignore[arg-type]
                consent_type_id=consent.id,  # type: ignore[arg-type]
                subject="Voor {{ person.first_name }}",
                text="Er zijn nog plaatsen.",
                offer_url="https://venue.example/offer",
            ),
            mailers=mailers,
            infos=infos,
        )
        s.commit()
        return account.id, action.job_id


def test_a_worker_killed_mid_send_is_restarted_and_nobody_gets_two_mails(
    broker,  # noqa: F811
    jobs_runtime,  # noqa: F811
    db_url,
    redis_url,
):
    import jobs.actors as actors

    engine, infos = jobs_runtime.engine, jobs_runtime.plugins.plugin_infos()
    with SmtpServer(Sink(delay=0.002)) as smtp:
        account_id, job_id = _venue(engine, infos, jobs_runtime.plugins.mailers(), smtp)
        env = worker_env(db_url, redis_url, broker.namespace)
        with running_worker(env) as first:
            actors.send_offer.send(job_id)
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and len(smtp.sink.messages) < MEMBERS // 3:
                time.sleep(0.01)
            kill(first)
        at_kill = len(smtp.sink.messages)
        assert 0 < at_kill < MEMBERS, "the kill came too late or too early to test anything"

        with running_worker(env):
            actors.send_offer.send(job_id)  # the redelivery
            job = _wait_for(engine, job_id, _settled, timeout=240)
            assert job.status == "succeeded", job.error
        received = Counter(smtp.sink.to())

    assert max(received.values()) == 1  # nobody twice
    with engine.connect() as conn:
        ledger = dict(
            conn.execute(
                text("SELECT status, count(*) FROM mail_send WHERE account_id = :a GROUP BY status"), {"a": account_id}
            ).all()
        )
        sent = set(
            conn.execute(
                text("SELECT email FROM mail_send WHERE account_id = :a AND status = 'sent'"), {"a": account_id}
            ).scalars()
        )
        unknown = set(
            conn.execute(
                text("SELECT p.email FROM mail_send m JOIN person p ON p.account_id = m.account_id AND p.id = m.person_id "
                     "WHERE m.account_id = :a AND m.status = 'unknown'"),
                {"a": account_id},
            ).scalars()
        )  # fmt: skip
    assert ledger.get("sent", 0) + ledger.get("unknown", 0) == MEMBERS  # every consenting member handled
    assert ledger.get("skipped") == 200 and "pending" not in ledger and "claimed" not in ledger
    assert len(unknown) <= CONNECTIONS  # at most the mails in hand when the kill came
    consenting = {f"lid{n}@example.nl" for n in range(1, MEMBERS + 1)}
    assert set(received) <= consenting  # nobody without consent
    assert sent | unknown == consenting and not sent & unknown
    assert sent <= set(received)  # every mail recorded as sent arrived
    assert consenting - set(received) <= unknown  # a mail missing is one in hand at the kill
    assert job.result["sent"] == len(sent) and job.result["unknown"] == len(unknown)
