"""Merges the per-domain roots into one strawberry schema and sets its protections."""

from __future__ import annotations

import strawberry
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import (AddValidationRules, MaskErrors, MaxAliasesLimiter, MaxTokensLimiter,
                                   ParserCache, QueryDepthLimiter, ValidationCache)
from strawberry.tools import merge_types

from graph.accounts.schema import AccountQuery
from graph.catalog.schema import CatalogQuery
from graph.catalog.types import ConsentType, Event, Production, Venue
from graph.core.node_query import NodeQuery
from graph.people.schema import PersonMutation, PersonQuery
from graph.people.types import Person
from marquee.settings import Settings

Query = merge_types("Query", (AccountQuery, NodeQuery, PersonQuery, CatalogQuery))
Mutation = merge_types("Mutation", (PersonMutation,))

NODE_TYPES = [Person, Production, Event, Venue, ConsentType]


def _masked(error) -> bool:
    """Hide unexpected errors outside development; keep the ones we raise on purpose."""
    original = getattr(error, "original_error", None)
    return original is not None and not isinstance(original, type(error))


def build_schema(settings: Settings | None = None) -> strawberry.Schema:
    settings = settings or Settings()
    # Factories, so that every request gets fresh extension instances.
    extensions = [
        lambda: QueryDepthLimiter(max_depth=settings.max_query_depth),
        lambda: MaxTokensLimiter(max_token_count=settings.max_query_tokens),
        lambda: MaxAliasesLimiter(max_alias_count=settings.max_aliases),
        lambda: ParserCache(maxsize=256),
        lambda: ValidationCache(maxsize=256),
    ]
    if not settings.introspection:
        extensions.append(lambda: AddValidationRules([NoSchemaIntrospectionCustomRule]))
    if settings.is_production:
        extensions.append(lambda: MaskErrors(should_mask_error=_masked, error_message="Unexpected error."))
    return strawberry.Schema(query=Query, mutation=Mutation, types=NODE_TYPES, extensions=extensions)


schema = build_schema()
