"""Merges the per-domain roots into one strawberry schema and sets its protections."""

from __future__ import annotations

import strawberry
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import AddValidationRules, MaskErrors, SchemaExtension
from strawberry.tools import merge_types
from strawberry.types.graphql import OperationType

from domain.errors import InputError
from graph.core.errors import input_path

from graph.accounts.schema import Account, AccountQuery
from graph.accounts.settings import AccountSettingsMutation
from graph.accounts.staff import ApiToken, StaffMutation, StaffQuery, StaffUser
from graph.actions.schema import ActionMutation, ActionQuery, SegmentAction, WorkbookMutation
from graph.catalog.schema import CatalogQuery
from graph.catalog.types import ConsentType, Event, Production, Venue
from graph.core.documents import PreparedDocuments
from graph.core.node_query import NodeQuery
from graph.execution import limits_of
from graph.executor import MarqueeExecutor
from graph.people.schema import PersonMutation, PersonQuery
from graph.privacy.schema import PrivacyMutation, PrivacyQuery, PrivacyRequest
from graph.audit.schema import AuditEntry, AuditQuery
from graph.organisations.schema import Organisation, OrganisationMutation, OrganisationQuery
from graph.people.types import Person
from graph.forms.schema import Form, FormMutation, FormQuery
from graph.imports.schema import ImportMutation
from graph.integrations.schema import PluginInstallation, PluginMutation, PluginQuery
from graph.jobs.schema import Job, JobMutation, JobQuery, JobSubscription
from graph.mail.schema import MailMutation, MailQuery
from graph.mail.types import MailLayout
from graph.recommendations.schema import RecommendationMutation, RecommendationQuery
from graph.segments.schema import Segment, SegmentMutation, SegmentQuery
from graph.tags.schema import TagMutation, TagQuery
from graph.tags.types import Tag, TagCategory
from marquee.settings import Settings

Query = merge_types(
    "Query",
    (
        AccountQuery,
        StaffQuery,
        NodeQuery,
        PersonQuery,
        CatalogQuery,
        TagQuery,
        FormQuery,
        JobQuery,
        SegmentQuery,
        ActionQuery,
        MailQuery,
        PluginQuery,
        RecommendationQuery,
        PrivacyQuery,
        AuditQuery,
        OrganisationQuery,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        StaffMutation,
        AccountSettingsMutation,
        PersonMutation,
        TagMutation,
        FormMutation,
        JobMutation,
        SegmentMutation,
        ActionMutation,
        WorkbookMutation,
        MailMutation,
        PluginMutation,
        ImportMutation,
        RecommendationMutation,
        PrivacyMutation,
        OrganisationMutation,
    ),
)
Subscription = merge_types("SubscriptionRoot", (JobSubscription,))  # "Subscription" is a season ticket

NODE_TYPES = [
    Person,
    Production,
    Event,
    Venue,
    ConsentType,
    Tag,
    TagCategory,
    Job,
    Segment,
    SegmentAction,
    MailLayout,
    Form,
    Account,
    PluginInstallation,
    StaffUser,
    ApiToken,
    PrivacyRequest,
    AuditEntry,
    Organisation,
]


def _masked(error) -> bool:
    """Hide unexpected errors outside development; keep the ones we raise on purpose."""
    original = getattr(error, "original_error", None)
    return original is not None and not isinstance(original, (type(error), InputError))


class InputErrorCodes(SchemaExtension):
    """Bad arguments to queries (page size, cursors, search) come back with a code and the
    offending argument, like mutation errors, instead of a bare message."""

    def on_execute(self):
        yield
        result = self.execution_context.result
        for error in (result.errors or []) if result else []:
            original = getattr(error, "original_error", None)
            if isinstance(original, InputError):
                # Paths name the field's arguments: under ``input`` when the field takes one.
                node = error.nodes[0] if error.nodes else None
                takes_input = node is not None and any(a.name.value == "input" for a in node.arguments or ())
                prefix = ("input",) if takes_input else ()
                error.extensions = {
                    **(error.extensions or {}),
                    "code": original.problems[0].code.name,
                    "problems": [
                        {"code": p.code.name, "message": p.message, "path": input_path(p.path, prefix)}
                        for p in original.problems
                    ],
                }


class MarqueeSchema(strawberry.Schema):
    async def stream(
        self,
        query,
        variable_values=None,
        context_value=None,
        root_value=None,
        operation_name=None,
        operation_extensions=None,
        allowed_operation_types=None,
    ):
        """Streaming transports (the WebSocket) run subscriptions only: queries and mutations go
        over HTTP, where each request gets its own session and transaction."""
        return await super().stream(
            query,
            variable_values,
            context_value,
            root_value,
            operation_name,
            operation_extensions,
            allowed_operation_types=(OperationType.SUBSCRIPTION,),
        )

    def process_errors(self, errors, execution_context=None) -> None:
        """Log only unexpected errors: bad input and refused permissions are answers, not faults."""
        unexpected = [
            e
            for e in errors
            if getattr(e, "original_error", None) is not None
            and not isinstance(e.original_error, (InputError, type(e)))
        ]
        if unexpected:
            super().process_errors(unexpected, execution_context)


def build_schema(settings: Settings | None = None) -> strawberry.Schema:
    settings = settings or Settings()
    # Factories, so that every request gets fresh extension instances. Token, depth, alias and
    # size limits are checked when a document is prepared (graph.core.documents), before
    # authentication and validation; parse and validation results are cached with it.
    limits = limits_of(settings)
    extensions = [lambda: PreparedDocuments(limits), InputErrorCodes]
    if not settings.introspection:
        extensions.append(lambda: AddValidationRules([NoSchemaIntrospectionCustomRule]))
    if settings.is_production:
        extensions.append(lambda: MaskErrors(should_mask_error=_masked, error_message="Unexpected error."))
    return MarqueeSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=NODE_TYPES,
        extensions=extensions,
        execution_context_class=MarqueeExecutor,
    )


schema = build_schema()
