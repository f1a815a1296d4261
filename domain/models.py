"""Imports every table so that ``SQLModel.metadata`` is complete (Alembic, tests)."""

from sqlmodel import SQLModel

from domain.accounts.models import Account, ApiToken, StaffUser  # noqa: F401
from domain.audit.models import AuditEntry  # noqa: F401
from domain.audience.models import AudienceChange  # noqa: F401
from domain.actions.models import ActionMember, SegmentAction  # noqa: F401
from domain.forms.models import Form, FormSubmission, FormTag  # noqa: F401
from domain.catalog.facts import PersonSeasonStats, PersonStats, TicketFact  # noqa: F401
from domain.catalog.models import Event, Order, Production, Subscription, Ticket, Venue  # noqa: F401
from domain.imports.models import FeedCursor  # noqa: F401
from domain.interactions.models import Interaction  # noqa: F401
from domain.integrations.models import PluginInstallation  # noqa: F401
from domain.jobs_state.models import Job  # noqa: F401
from domain.mail.models import AudiencePushBatch, MailLayout, MailSend  # noqa: F401
from domain.people.models import (
    Person,  # noqa: F401
)

from domain.privacy.models import PersonSuppression, PrivacyRequest  # noqa: F401
from domain.recommendations.models import InterestScore, ScoringRule, TagLift  # noqa: F401
from domain.scheduling.models import Schedule  # noqa: F401
from domain.website.models import WebsiteExport  # noqa: F401
from domain.segments.models import Segment, SegmentReference  # noqa: F401
from domain.tags.models import (
    TagCategory,  # noqa: F401
)

metadata = SQLModel.metadata
