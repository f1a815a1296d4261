"""Imports every table so that ``SQLModel.metadata`` is complete (Alembic, tests)."""

from sqlmodel import SQLModel

from domain.accounts.models import Account, ApiToken, StaffUser  # noqa: F401
from domain.catalog.models import Event, Order, Production, Subscription, Ticket, Venue  # noqa: F401
from domain.jobs_state.models import Job  # noqa: F401
from domain.people.models import (ConsentType, CustomFieldDefinition, Organisation, Person,  # noqa: F401
                                  PersonConsent, PersonIdentity)

metadata = SQLModel.metadata
