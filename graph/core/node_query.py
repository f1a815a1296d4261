"""``node(id:)``: refetch any Node by global id, within the viewer's account only."""

from __future__ import annotations

import strawberry

from domain.accounts.models import ApiToken, Role, StaffUser
from domain.actions.models import SegmentAction
from domain.catalog.models import Event, Production, Venue
from domain.catalog.service import rows_by_id
from domain.forms.models import Form
from domain.integrations.models import PluginInstallation
from domain.people.models import ConsentType, Organisation, Person
from domain.privacy.models import PrivacyRequest
from domain.audit.models import AuditEntry
from domain.jobs_state.models import Job
from domain.mail.models import MailLayout
from domain.segments.models import Segment
from domain.tags.models import TagCategory
from graph.context import Info
from graph.core.ids import from_global_id
from graph.core.node import Node

# Node types staff may refetch, by global-id type name.
STAFF_NODES = {
    "Person": Person,
    "Production": Production,
    "Event": Event,
    "Venue": Venue,
    "ConsentType": ConsentType,
    "TagCategory": TagCategory,
    "Job": Job,
    "Segment": Segment,
    "SegmentAction": SegmentAction,
    "MailLayout": MailLayout,
    "Form": Form,
    "PluginInstallation": PluginInstallation,
    "Organisation": Organisation,
}
# And those only admins may (the account's people and credentials).
ADMIN_NODES = {"StaffUser": StaffUser, "ApiToken": ApiToken, "PrivacyRequest": PrivacyRequest, "AuditEntry": AuditEntry}


@strawberry.type
class NodeQuery:
    @strawberry.field(description="Any object by its global id; null when it is not visible to you.")
    def node(self, info: Info, id: strawberry.ID) -> Node | None:
        viewer = info.context.viewer
        decoded = from_global_id(id)
        if viewer is None or decoded is None:
            return None
        if decoded[0] == "Tag":
            from graph.tags.views import viewer_tag_views  # noqa: PLC0415  (tags import node types)

            return viewer_tag_views(info.context).get(decoded[1])
        if not viewer.is_staff:
            return None
        if decoded[0] == "Account":  # the viewer's own account, and no other
            return viewer.account if decoded[1] == viewer.account_id else None
        if decoded[0] == "Organisation" and "business" not in viewer.account.modules:
            return None  # module off: organisations are absent
        model = STAFF_NODES.get(decoded[0])
        if model is None and viewer.role == Role.ADMIN.value:
            model = ADMIN_NODES.get(decoded[0])
        if model is None:
            return None
        return rows_by_id(info.context.session, model, viewer.account_id, [decoded[1]]).get(decoded[1])
