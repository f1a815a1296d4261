"""Loaders for person fields: <Thing>By<Key>Loader, one query per request and kind."""

from __future__ import annotations

from domain.catalog import service as catalog
from domain.forms import service as forms
from domain.people import consents
from domain.tags import service as tags
from domain.tags.service import TargetKind
from graph.catalog.loaders import OrdersByPersonLoader
from graph.core.loaders import BatchLoader, loader


def ConsentsByPersonLoader(ctx) -> BatchLoader:
    return BatchLoader(lambda ids: consents.consents_by_person(ctx.session, ctx.viewer.account_id, ids), default=list)


def IdentitiesByPersonLoader(ctx) -> BatchLoader:
    return BatchLoader(lambda ids: consents.identities_by_person(ctx.session, ctx.viewer.account_id, ids), default=list)


def SubscriptionsByPersonLoader(ctx) -> BatchLoader:
    return BatchLoader(
        lambda ids: catalog.subscriptions_by_person(ctx.session, ctx.viewer.account_id, ids), default=list
    )


def PurchaseSummaryByPersonLoader(ctx) -> BatchLoader:
    return BatchLoader(
        lambda ids: catalog.purchase_summary(ctx.session, ctx.viewer.account_id, ids),
        default=lambda: {"orders": 0, "tickets": 0, "revenue": 0, "last_purchase_at": None},
    )


def TagLinksByPersonLoader(ctx) -> BatchLoader:
    return BatchLoader(
        lambda ids: tags.links_for_targets(ctx.session, ctx.viewer.account_id, TargetKind.PERSON, ids), default=list
    )


def ConsentHistoryByPersonLoader(ctx, first: int) -> BatchLoader:
    return BatchLoader(
        lambda ids: consents.consent_history_by_person(ctx.session, ctx.viewer.account_id, ids, first=first),
        default=list,
    )


def SubmissionsByPersonLoader(ctx, first: int) -> BatchLoader:
    return BatchLoader(
        lambda ids: forms.submissions_by_person(ctx.session, ctx.viewer.account_id, ids, first=first), default=list
    )


def InterestsByPersonLoader(ctx, first: int) -> BatchLoader:
    from domain.recommendations import scoring  # noqa: PLC0415

    return BatchLoader(
        lambda ids: scoring.interests_by_person(ctx.session, ctx.viewer.account_id, ids, first=first), default=list
    )


def FormByIdLoader(ctx) -> BatchLoader:
    return BatchLoader(lambda ids: forms.forms_by_id(ctx.session, ctx.viewer.account_id, ids))


def sized_loader(ctx, factory, first: int) -> BatchLoader:
    """One loader per kind and page size asked for in the request; made late, it still batches
    every person the request's lists announced."""

    def make(c):
        made = factory(c, first)
        made.want(c.announced_persons)
        return made

    return ctx.loaders.get(f"{factory.__name__}:{first}", make)


def orders_loader(ctx, first: int) -> BatchLoader:
    return sized_loader(ctx, OrdersByPersonLoader, first)


PERSON_LOADERS = (
    ConsentsByPersonLoader,
    IdentitiesByPersonLoader,
    SubscriptionsByPersonLoader,
    PurchaseSummaryByPersonLoader,
    TagLinksByPersonLoader,
)


def announce_persons(ctx, person_ids: list[int]) -> None:
    """Tell every person loader which persons the current list holds."""
    ctx.announced_persons.update(person_ids)
    for factory in PERSON_LOADERS:
        loader(ctx, factory).want(person_ids)


def OrganisationLinksByPersonLoader(ctx) -> BatchLoader:
    from domain.organisations import service as organisations  # noqa: PLC0415

    return BatchLoader(lambda ids: organisations.links_by_person(ctx.session, ctx.viewer.account_id, ids), default=list)


def PersonByIdLoader(ctx) -> BatchLoader:
    """Persons by id in the viewer's account (an erased one loads as absent)."""
    from domain.catalog.service import rows_by_id  # noqa: PLC0415
    from domain.people.models import Person  # noqa: PLC0415

    return BatchLoader(lambda ids: rows_by_id(ctx.session, Person, ctx.viewer.account_id, ids))
