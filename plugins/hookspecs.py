"""The plugin contract: every hook Marquee calls, and nothing else.

Conventions
-----------
- ``register_*`` hooks return contributions; the core collects one result per plugin.
- ``on_<thing>_<past tense>`` hooks are notifications. They fire **after the transaction that
  did the work has committed** (never for work that rolled back), take exactly one keyword
  argument ``event`` (a frozen dataclass from :mod:`domain.events` carrying ``account_id`` and
  ids, never a session or an ORM object), and their return value is ignored.
- A notification runs inside the process that committed (an API request or a worker), so it
  must be quick: anything slow or networked belongs in a job the plugin enqueues.
- Each plugin's notification is called on its own: an exception is logged with the plugin's
  name and counted (``PluginFacade.failures``), and the other plugins still receive the event.
  The committed work stands; a plugin cannot undo it by raising.

``EVENT_HOOKS`` maps each domain event class to the notification hook that carries it.
"""

from __future__ import annotations

import pluggy

from domain.imports.contract import FeedReader
from domain.mail.audiences import AudiencePusher
from domain.mail.contract import Mailer
from domain.website.contract import WebsiteExporter

from domain.events import (
    DomainEvent,
    FormSubmitted,
    ImportFinished,
    PersonCreated,
    PersonDeleted,
    PersonErased,
    PersonExported,
    PersonMerged,
    PersonUpdated,
    ProductionsChanged,
    AudiencePushed,
    OfferSent,
    SegmentExported,
    SegmentLabelled,
    TagsAttached,
    TagsMerged,
)

PROJECT = "marquee"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_plugin_info() -> dict | None:  # type: ignore[empty-body]  # a spec: plugins give the body
    """Describe the plugin.

    Called when the core lists installed plugins (the admin screen, connector scopes).
    Takes no arguments. Return a dict ``{"name": str, "description": str, "scopes": [str, ...]}``
    where ``scopes`` names what the plugin may read or write (for example
    ``["people:read", "tags:write"]``); connector credentials issued to the plugin are limited to
    these scopes. Return ``None`` to stay unlisted. Every plugin's dict is collected.
    """


@hookspec
def register_feed_readers() -> list[FeedReader] | None:  # type: ignore[empty-body]  # a spec
    """Contribute feed readers: objects that fetch a feed for an account, page by page.

    Called when the core lists or runs feeds. Takes no arguments. Return a list of
    :class:`domain.imports.contract.FeedReader` (``plugin``: your plugin's name, whose per-account
    installation configures the reader; ``name``: unique, e.g. ``"mytix.pull"``; ``read``: a
    callable taking a :class:`~domain.imports.contract.FeedRun` and yielding
    :class:`~domain.imports.contract.FeedPage` objects), or None. ``read`` runs on a worker; it may
    do network I/O, honour rate limits and sleep. Every page's records are imported, then its
    cursor is stored: the next run starts from it. A reader whose ``every_setting`` names one of
    the plugin's integer settings also runs on a schedule, every that many minutes per account.
    """


@hookspec
def register_website_exporters() -> list[WebsiteExporter] | None:  # type: ignore[empty-body]  # a spec
    """Contribute website exporters: objects that publish the account's website document.

    Called when the core lists or runs exporters. Takes no arguments. Return a list of
    :class:`domain.website.contract.WebsiteExporter` (``plugin``: your plugin's name, whose
    per-account installation configures and enables it; ``name``: unique, e.g. ``"website.push"``;
    ``export``: a callable taking a :class:`~domain.website.contract.WebsiteExport`;
    ``every_setting``: your integer setting with the minutes between scheduled checks), or None.
    ``export`` runs on a worker, only when the document (public tags, upcoming productions with
    their events and venues; ``domain/website/document.py``) differs from what the exporter last
    published for the account, and soon after productions or their tags change. Raise to fail:
    the run is retried with backoff under the same ``message_id``.
    """


@hookspec
def register_mailers() -> list[Mailer] | None:  # type: ignore[empty-body]  # a spec
    """Contribute mailers: objects that hand offer e-mails to a mail system.

    Called when the core lists mailers or sends an offer. Takes no arguments. Return a list of
    :class:`domain.mail.contract.Mailer` (``plugin``: your plugin's name, whose per-account
    installation configures and enables it; ``name``: unique, e.g. ``"mailer.smtp"``; ``connect``:
    a callable taking the installation's settings and returning a connection with ``send(mail)``
    and ``close()``, and optionally ``stage(mail)``, ``complete()`` and ``cancel()``: see
    :class:`~domain.mail.contract.StagedConnection`), or None. The core renders every mail, checks
    consent at send time, keeps the send ledger and paces the sending (``rate_setting``,
    ``pool_setting``); ``send`` raises :class:`~domain.mail.contract.MailDeferred` (try later),
    :class:`~domain.mail.contract.MailRefused` (never for this recipient) or
    :class:`~domain.mail.contract.MailUnconfirmed` (went over, no answer: never sent again).
    """


@hookspec
def register_audience_pushers() -> list[AudiencePusher] | None:  # type: ignore[empty-body]  # a spec
    """Contribute audience pushers: objects that hand a segment's members to an external tool.

    Called when the core lists pushers or runs a push. Takes no arguments. Return a list of
    :class:`domain.mail.audiences.AudiencePusher` (``plugin``: your plugin's name, whose per-account
    installation configures and enables it; ``name``: unique, e.g. ``"audience.webhook"``;
    ``push``: a callable taking one :class:`~domain.mail.audiences.AudienceBatch`), or None.
    ``push`` runs on a worker once per batch of at most 100 members; a batch keeps its
    ``message_id`` over retries (the receiver's idempotency key). Raise to fail: the job is retried
    with backoff and sends only the batches not yet delivered.
    """


@hookspec
def on_person_created(event: PersonCreated) -> None:
    """A person was created.

    Fires once per person after the transaction that created it has committed.
    ``event`` is a :class:`domain.events.PersonCreated` (``account_id``, ``person_id``); reload
    the person through the domain if you need its fields. The return value is ignored.
    """


@hookspec
def on_person_updated(event: PersonUpdated) -> None:
    """A person's fields changed.

    Fires after the transaction that changed the person has committed, only when at least one
    field really changed. ``event`` is a :class:`domain.events.PersonUpdated` (``account_id``,
    ``person_id``, ``changed_fields``: the names of the changed fields). The return value is
    ignored.
    """


@hookspec
def on_person_deleted(event: PersonDeleted) -> None:
    """A person was deleted.

    Fires after the transaction that deleted the person has committed; the row is gone, so
    ``event`` (a :class:`domain.events.PersonDeleted`: ``account_id``, ``person_id``) is all
    there is. Forget whatever you keep about that person. The return value is ignored.
    """


@hookspec
def on_person_merged(event: PersonMerged) -> None:
    """Two persons were merged into one.

    Fires after the merge has committed. ``event`` is a :class:`domain.events.PersonMerged`:
    ``account_id``, ``survivor_id`` and ``merged_id``. The merged person no longer exists: its
    tags, orders, consents, submissions, subscriptions and identities now belong to the survivor.
    Re-point whatever you keep under the merged id. The return value is ignored.
    """


@hookspec
def on_person_exported(event: PersonExported) -> None:
    """A privacy export of one person was written (an admin answered a subject access request).

    Fires after the export's job has recorded its document. ``event`` is a
    :class:`domain.events.PersonExported`: ``account_id``, ``person_id``, ``request_id`` (the
    privacy request) and ``job_id``. A connector that keeps data of its own about the person may
    answer its part of the request. The return value is ignored.
    """


@hookspec
def on_person_erased(event: PersonErased) -> None:
    """A person was erased (a privacy request): their personal data is gone from Marquee.

    Fires after the erasure has committed. ``event`` is a :class:`domain.events.PersonErased`:
    ``account_id``, ``person_id`` (the anonymous row that keeps their purchase figures),
    ``request_id``, and what they were known by: ``email`` (or None) and ``identities``, a tuple of
    (source, external id). Erase the person from every system you feed, then forget these
    values: Marquee keeps only one-way digests of them. The return value is ignored.
    """


@hookspec
def on_productions_changed(event: ProductionsChanged) -> None:
    """Productions were created or changed: their fields, their tags or their events.

    Fires after the transaction that changed them has committed (a feed import fires once per
    batch that changed any). ``event`` is a :class:`domain.events.ProductionsChanged`:
    ``account_id`` and ``production_ids``. Website exporters republish from here. The return value
    is ignored.
    """


@hookspec
def on_import_finished(event: ImportFinished) -> None:
    """A feed import ended.

    Fires after its last batch has committed. ``event`` is a :class:`domain.events.ImportFinished`:
    ``account_id``, ``plugin``, ``source``, the number of ``records`` read, ``changes`` written and
    records ``refused``, and the ``job_id`` when it ran as a job (its result lists the refusals).
    The return value is ignored.
    """


@hookspec
def on_tags_attached(event: TagsAttached) -> None:
    """Tags were linked to persons, productions or organisations.

    Fires once per attach call that added at least one link (a bulk label is one event) after
    its transaction has committed. ``event`` is a :class:`domain.events.TagsAttached`:
    ``account_id``, ``tag_ids``, ``target`` (``"person"``, ``"production"`` or
    ``"organisation"``), ``target_ids`` (the targets asked for; some may have had the link
    already) and ``source`` (``"person"``, ``"staff"`` or ``"integration"``). The return value
    is ignored.
    """


@hookspec
def on_tags_merged(event: TagsMerged) -> None:
    """Tags were merged into one surviving tag.

    Fires after the merge has committed; the merged tags no longer exist and their links,
    form places and segment references now point at the survivor. ``event`` is a
    :class:`domain.events.TagsMerged`: ``account_id``, ``survivor_id``, ``merged_ids``.
    Re-point whatever you keep under a merged id to the survivor. The return value is ignored.
    """


@hookspec
def on_form_submitted(event: FormSubmitted) -> None:
    """A person submitted a form (a campaign form or the preference centre).

    Fires after the submission has committed. ``event`` is a
    :class:`domain.events.FormSubmitted`: ``account_id``, ``form_id``, ``person_id``,
    ``submission_id``, and the tag ids the person ``added_tag_ids`` / ``removed_tag_ids``
    through this submission. The return value is ignored.
    """


@hookspec
def on_segment_labelled(event: SegmentLabelled) -> None:
    """A label action ended: every member of the segment's snapshot holds the tags.

    Fires after its transaction has committed. ``event`` is a
    :class:`domain.events.SegmentLabelled`: ``account_id``, ``action_id``, ``job_id``,
    ``segment_id`` (None when deleted meanwhile), ``tag_ids``, the snapshot's ``members`` and the
    ``links_added`` (members who held a tag already are not counted). Member ids are not sent:
    read them through the API. The return value is ignored.
    """


@hookspec
def on_segment_exported(event: SegmentExported) -> None:
    """An export action wrote its file.

    Fires after the action recorded it. ``event`` is a :class:`domain.events.SegmentExported`:
    ``account_id``, ``action_id``, ``job_id``, ``segment_id``, ``format`` (``csv``), the
    ``rows`` written (persons) and the file's ``bytes``. The return value is ignored.
    """


@hookspec
def on_offer_sent(event: OfferSent) -> None:
    """An offer e-mail action ended: every member of its snapshot was sent a mail or skipped.

    Fires after its job succeeded. ``event`` is a :class:`domain.events.OfferSent`:
    ``account_id``, ``action_id``, ``job_id``, ``segment_id``, and the counts ``sent``,
    ``skipped`` (no consent at send time, or no address), ``failed`` (refused by the mail server)
    and ``unknown`` (a sender stopped while handing these over). The return value is ignored.
    """


@hookspec
def on_audience_pushed(event: AudiencePushed) -> None:
    """An audience push ended: every batch of the segment's snapshot was delivered.

    Fires after its job succeeded. ``event`` is a :class:`domain.events.AudiencePushed`:
    ``account_id``, ``action_id``, ``job_id``, ``segment_id``, the ``pusher``'s name, the
    ``members`` pushed and the number of ``batches``. The return value is ignored.
    """


EVENT_HOOKS: dict[type[DomainEvent], str] = {
    PersonCreated: "on_person_created",
    PersonUpdated: "on_person_updated",
    PersonDeleted: "on_person_deleted",
    PersonMerged: "on_person_merged",
    PersonExported: "on_person_exported",
    PersonErased: "on_person_erased",
    ImportFinished: "on_import_finished",
    ProductionsChanged: "on_productions_changed",
    TagsAttached: "on_tags_attached",
    TagsMerged: "on_tags_merged",
    FormSubmitted: "on_form_submitted",
    SegmentLabelled: "on_segment_labelled",
    SegmentExported: "on_segment_exported",
    OfferSent: "on_offer_sent",
    AudiencePushed: "on_audience_pushed",
}
